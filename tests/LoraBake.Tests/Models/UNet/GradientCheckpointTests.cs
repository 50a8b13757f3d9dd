using LoraBake.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.UNet;

/// <summary>
/// Gradient checkpointing must change memory, never results: the tiny_a UNet with a LoCon adapter (Linear and
/// 3×3 conv targets, so both resnets and transformers recompute parameters of their own) gives the same loss and
/// the same adapter gradients with and without it.
/// </summary>
public class GradientCheckpointTests
{
    [Fact]
    public void Checkpointed_unet_gives_the_same_loss_and_adapter_gradients()
    {
        using var unet = TinyAUNet.Load();
        foreach (var p in unet.parameters()) p.requires_grad = false;
        using var net = LoraNetwork.Create(unet, null, NetworkType.LoCon, dim: 4, alpha: 2, convDim: 2, convAlpha: 1);
        var generator = new Generator(20261202);
        using (no_grad())
            foreach (var p in net.parameters()) p.copy_(randn(p.shape, generator: generator) * 0.1);   // up weights start at 0
        var input = TinyAUNet.LoadGolden();

        (double Loss, Dictionary<string, Tensor> Grads) Step(bool checkpointing)
        {
            unet.GradientCheckpointing = checkpointing;
            net.zero_grad();
            using var pred = unet.forward(input["sample"], input["timesteps"], input["encoder_hidden_states"]);
            using var loss = pred.square().mean();
            loss.backward();
            return (loss.item<float>(), net.named_parameters().Where(p => p.parameter.grad is not null)
                .ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
        }

        var plain = Step(checkpointing: false);
        var checkpointed = Step(checkpointing: true);

        Assert.True(unet.GradientCheckpointing);
        Assert.Equal(plain.Loss, checkpointed.Loss, 1e-6);
        Assert.Equal(net.parameters().Count(), plain.Grads.Count);
        Assert.Equal(plain.Grads.Keys.Order(), checkpointed.Grads.Keys.Order());
        Assert.Contains(plain.Grads, g => g.Key.Contains("resnets") && g.Value.abs().max().item<float>() > 0);
        // Same kernels on the same data, but not the same bits: the recomputed block's weight gradients come from a
        // backward of their own (the epoch fingerprint therefore includes the setting).
        foreach (var (name, grad) in plain.Grads)
            FloatAssert.Close(grad, checkpointed.Grads[name], rtol: 1e-5, atol: 1e-8, name);
    }

    [Fact]
    public void Blocks_with_nothing_to_train_before_the_first_adapter_are_passed_over()
    {
        // Plain LoRA targets only transformer layers: the first resnet's inputs and weights need no gradient.
        using var unet = TinyAUNet.Load();
        using var net = LoraNetwork.Create(unet, null, NetworkType.LoRA, dim: 4, alpha: 2);
        unet.GradientCheckpointing = true;
        var input = TinyAUNet.LoadGolden();
        using var pred = unet.forward(input["sample"], input["timesteps"], input["encoder_hidden_states"]);
        pred.square().mean().backward();
        Assert.All(net.named_parameters(), p => Assert.NotNull(p.parameter.grad));
    }

    [Fact]
    public void Without_gradients_a_checkpointed_unet_runs_plainly()
    {
        using var unet = TinyAUNet.Load();
        var input = TinyAUNet.LoadGolden();
        using var _ = no_grad();
        using var plain = unet.forward(input["sample"], input["timesteps"], input["encoder_hidden_states"]);
        unet.GradientCheckpointing = true;
        using var checkpointed = unet.forward(input["sample"], input["timesteps"], input["encoder_hidden_states"]);
        Assert.True(plain.equal(checkpointed).all().item<bool>());
        Assert.False(checkpointed.requires_grad);
    }
}
