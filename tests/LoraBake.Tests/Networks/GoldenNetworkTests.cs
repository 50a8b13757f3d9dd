using LoraBake.Models.Text;
using LoraBake.Models.UNet;
using LoraBake.Networks;
using LoraBake.Tests.Models.Text;
using LoraBake.Tests.Models.UNet;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LoraBake.Tests.Networks;

/// <summary>
/// The kohya-format files in goldens/lora applied to the tiny_a UNet and text encoder, against outputs
/// diffusers (LoRA, LoCon) and PEFT (LoHa) computed for the same files at strengths 1.0 and 0.5.
/// </summary>
public class GoldenNetworkTests
{
    private static string LoraDir => GoldensFolder.File("tiny_a", "goldens", "lora");

    private static void AssertClose(Tensor expected, Tensor actual, double tol, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected - actual.to(expected.dtype)).abs().max().item<float>();
        Assert.True(diff <= tol, $"{what}: max |diff| {diff:E3} > {tol:E0}");
    }

    [Theory]
    [InlineData("lora", "s10", 1.0)]
    [InlineData("lora", "s05", 0.5)]
    [InlineData("locon", "s10", 1.0)]
    [InlineData("locon", "s05", 0.5)]
    [InlineData("loha", "s10", 1.0)]
    [InlineData("loha", "s05", 0.5)]
    public void Kohya_file_reproduces_reference_outputs_by_forward_and_by_merge(string kind, string tag, double strength)
    {
        using var unet = TinyAUNet.Load();
        using var te = ClipTextModelTests.LoadTiny();
        var file = Safetensors.LoadStateDict(Path.Combine(LoraDir, $"{kind}.safetensors"));
        var golden = Safetensors.LoadStateDict(Path.Combine(LoraDir, $"{kind}_{tag}_outputs.safetensors"));
        var unetIn = TinyAUNet.LoadGolden();
        var teIn = Safetensors.LoadStateDict(GoldensFolder.File("tiny_a", "goldens", "text_encoder.safetensors"));
        try
        {
            using var net = LoraNetwork.FromWeights(unet, te, file, $"{kind}.safetensors");
            Assert.Empty(net.UnmatchedModules);
            Assert.Equal(kind switch { "lora" => NetworkType.LoRA, "locon" => NetworkType.LoCon, _ => NetworkType.LoHa }, net.Type);
            net.SetMultiplier(strength);
            using var _ = no_grad();

            // 1. Forward hooks.
            using (var pred = unet.forward(unetIn["sample"], unetIn["timesteps"], unetIn["encoder_hidden_states"]))
                AssertClose(golden["unet_noise_pred"], pred, 5e-5, "unet_noise_pred (hooks)");
            using (var h = te.Forward(teIn["input_ids"]))
                AssertClose(golden["te_last_hidden_state"], h.LastHiddenState, 5e-5, "te_last_hidden_state (hooks)");

            // 2. Merged weights, hooks removed.
            net.MergeInto(strength);
            var unetParams = unet.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            var teParams = te.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            int checkedWeights = 0;
            foreach (var (key, expected) in golden.Where(kv => kv.Key.StartsWith("merged.", StringComparison.Ordinal)))
            {
                var name = key["merged.".Length..];
                var actual = name.StartsWith("unet.", StringComparison.Ordinal) ? unetParams[name["unet.".Length..]] : teParams[name["te.".Length..]];
                AssertClose(expected, actual, 1e-5, key);
                checkedWeights++;
            }
            Assert.True(checkedWeights >= 11);
            using (var pred = unet.forward(unetIn["sample"], unetIn["timesteps"], unetIn["encoder_hidden_states"]))
                AssertClose(golden["unet_noise_pred"], pred, 5e-5, "unet_noise_pred (merged)");
            using (var clip2 = te.ForwardClipSkip(teIn["input_ids"], 2))
                AssertClose(golden["te_clip_skip_2"], clip2, 5e-5, "te_clip_skip_2 (merged)");
        }
        finally
        {
            foreach (var t in file.Values.Concat(golden.Values).Concat(unetIn.Values).Concat(teIn.Values)) t.Dispose();
        }
    }

    [Fact]
    public void Created_network_matches_the_reference_file_layout()
    {
        using var unet = TinyAUNet.Load();
        using var te = ClipTextModelTests.LoadTiny();
        var file = Safetensors.LoadStateDict(Path.Combine(LoraDir, "locon.safetensors"));
        try
        {
            using var net = LoraNetwork.Create(unet, te, NetworkType.LoCon, dim: 4, alpha: 2, convDim: 2, convAlpha: 1.5);
            var ours = net.StateDict(ScalarType.Float32);
            Assert.Equal(file.Keys.OrderBy(k => k, StringComparer.Ordinal), ours.Keys.OrderBy(k => k, StringComparer.Ordinal));
            foreach (var (k, t) in file) Assert.Equal(t.shape, ours[k].shape);
            foreach (var t in ours.Values) t.Dispose();
        }
        finally
        {
            foreach (var t in file.Values) t.Dispose();
        }
    }

    [Fact]
    public void Full_sd15_has_kohya_module_counts()
    {
        var meta = new Device(DeviceType.META);
        using var unet = new UNet2DConditionModel(UNetConfig.Sd15, device: meta);
        using var te = new ClipTextModel(ClipTextConfig.Sd1, device: meta);
        using (var lora = LoraNetwork.Create(unet, te, NetworkType.LoRA, 32, 16))
        {
            Assert.Equal(72, lora.TextEncoderModules.Count());
            Assert.Equal(192, lora.UNetModules.Count());
            Assert.Contains(lora.Modules, m => m.LoraName == "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_out_0");
            Assert.Contains(lora.Modules, m => m.LoraName == "lora_te_text_model_encoder_layers_11_mlp_fc2");
            lora.Remove();
        }
        using (var locon = LoraNetwork.Create(unet, te, NetworkType.LoCon, 32, 16, convDim: 8, convAlpha: 4))
        {
            Assert.Equal(350, locon.Modules.Count);
            Assert.Equal(278, locon.UNetModules.Count());
            Assert.Equal(50, locon.Modules.Count(m => m.Target.IsKxKConv));
            Assert.Contains(locon.Modules, m => m.LoraName == "lora_unet_up_blocks_1_resnets_2_conv_shortcut");
            locon.Remove();
        }
        using (var loha = LoraNetwork.Create(unet, te, NetworkType.LoHa, 8, 4, convDim: 4, convAlpha: 1))
        {
            // LyCORIS LoHa on LoCon's targets: same 350 modules, hada_* factors instead of up/down.
            Assert.Equal(350, loha.Modules.Count);
            Assert.All(loha.Modules, m => Assert.IsType<LoHaModule>(m));
            Assert.Equal(50, loha.Modules.Count(m => m.Target.IsKxKConv));
            loha.Remove();
        }
    }
}
