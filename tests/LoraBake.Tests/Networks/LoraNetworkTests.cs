using LoraBake.Networks;
using LoraBake.Runtime;
using LoraBake.Tests.Networks.StandIns;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Networks;

public class LoraNetworkTests
{
    private static (TinyUNet Unet, TinyClipText Te) NewModels(int seed = 1)
    {
        manual_seed(seed);
        return (new TinyUNet(), new TinyClipText());
    }

    /// <summary>Same base weights as the given models (copied: other test classes share the global RNG).</summary>
    private static (TinyUNet Unet, TinyClipText Te) CopyOf(TinyUNet unet, TinyClipText te)
    {
        var (u, t) = NewModels();
        using var _ = no_grad();
        foreach (var ((_, dst), (_, src)) in u.named_parameters().Zip(unet.named_parameters())) dst.copy_(src);
        foreach (var ((_, dst), (_, src)) in t.named_parameters().Zip(te.named_parameters())) dst.copy_(src);
        return (u, t);
    }

    private static Tensor UnetInput() { manual_seed(7); return randn(2, 4, 8, 8); }
    private static Tensor TeInput() { manual_seed(8); return randn(2, 5, 4); }

    /// <summary>Gives every module a non-zero ΔW (up / w2_a start at zero).</summary>
    private static void Randomize(LoraNetwork net, int seed = 3)
    {
        manual_seed(seed);
        using var _ = no_grad();
        foreach (var p in net.parameters()) p.copy_(randn_like(p) * 0.3);
    }

    [Fact]
    public void LoRA_names_keys_and_shapes_follow_kohya()
    {
        var (unet, te) = NewModels();
        using var net = LoraNetwork.Create(unet, te, NetworkType.LoRA, dim: 2, alpha: 1);
        var names = net.Modules.Select(m => m.LoraName).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(new[]
        {
            "lora_te_text_model_encoder_layers_0_mlp_fc1",
            "lora_te_text_model_encoder_layers_0_mlp_fc2",
            "lora_te_text_model_encoder_layers_0_self_attn_k_proj",
            "lora_te_text_model_encoder_layers_0_self_attn_out_proj",
            "lora_te_text_model_encoder_layers_0_self_attn_q_proj",
            "lora_te_text_model_encoder_layers_0_self_attn_v_proj",
            "lora_unet_down_blocks_0_attentions_0_attn1_to_k",
            "lora_unet_down_blocks_0_attentions_0_attn1_to_out_0",
            "lora_unet_down_blocks_0_attentions_0_attn1_to_q",
            "lora_unet_down_blocks_0_attentions_0_proj_in",
            "lora_unet_down_blocks_0_attentions_0_proj_out",
        }, names);

        var sd = net.StateDict(ScalarType.Float32);
        Assert.Equal(names.Count * 3, sd.Count);
        Assert.Equal(new long[] { 2, 4 }, sd["lora_unet_down_blocks_0_attentions_0_attn1_to_q.lora_down.weight"].shape);
        Assert.Equal(new long[] { 4, 2 }, sd["lora_unet_down_blocks_0_attentions_0_attn1_to_q.lora_up.weight"].shape);
        Assert.Equal(new long[] { 2, 4, 1, 1 }, sd["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"].shape);
        Assert.Equal(new long[] { 4, 2, 1, 1 }, sd["lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight"].shape);
        Assert.Equal(new long[] { 2, 8 }, sd["lora_te_text_model_encoder_layers_0_mlp_fc2.lora_down.weight"].shape);
        var alpha = sd["lora_te_text_model_encoder_layers_0_mlp_fc2.alpha"];
        Assert.Empty(alpha.shape);
        Assert.Equal(1f, alpha.item<float>());
        Assert.Equal(0.5, net.Modules[0].Scale);
        foreach (var t in sd.Values) t.Dispose();
    }

    [Fact]
    public void LoCon_adds_resnet_and_sampler_convs_with_conv_dim_and_keeps_stride()
    {
        var (unet, te) = NewModels();
        using var net = LoraNetwork.Create(unet, te, NetworkType.LoCon, dim: 2, alpha: 1, convDim: 3, convAlpha: 1.5);
        Assert.Equal(5 + 3, net.UNetModules.Count());
        Assert.Equal(6, net.TextEncoderModules.Count());
        var sd = net.StateDict(ScalarType.BFloat16);
        Assert.Equal(new long[] { 3, 4, 3, 3 }, sd["lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"].shape);
        Assert.Equal(new long[] { 4, 3, 1, 1 }, sd["lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight"].shape);
        Assert.Equal(ScalarType.BFloat16, sd["lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight"].dtype);
        Assert.Equal(1.5f, sd["lora_unet_down_blocks_0_downsamplers_0_conv.alpha"].to(ScalarType.Float32).item<float>());
        Assert.DoesNotContain(sd.Keys, k => k.StartsWith("lora_unet_conv_in", StringComparison.Ordinal));
        var down = net.Modules.Single(m => m.LoraName == "lora_unet_down_blocks_0_downsamplers_0_conv").Target;
        Assert.Equal(new long[] { 2, 2 }, down.Stride);
        foreach (var t in sd.Values) t.Dispose();
    }

    [Fact]
    public void Text_encoder_paths_are_rooted_at_text_model_even_for_the_inner_transformer()
    {
        var (unet, te) = NewModels();
        using var net = LoraNetwork.Create(unet, te.text_model, NetworkType.LoRA, 2, 1);
        Assert.Contains(net.Modules, m => m.LoraName == "lora_te_text_model_encoder_layers_0_self_attn_q_proj");
    }

    [Fact]
    public void Without_text_encoder_only_unet_modules_exist()
    {
        var (unet, _) = NewModels();
        using var net = LoraNetwork.Create(unet, null, NetworkType.LoRA, 2, 1);
        Assert.All(net.Modules, m => Assert.StartsWith("lora_unet_", m.LoraName));
        var groups = net.ParamGroups(1e-4, textEncoderLr: 5e-5, unetLr: null);
        Assert.Single(groups);
        Assert.Equal(1e-4, groups[0].BaseLr);
    }

    [Fact]
    public void Base_is_frozen_and_network_parameters_are_the_adapters_only()
    {
        var (unet, te) = NewModels();
        using var net = LoraNetwork.Create(unet, te, NetworkType.LoRA, 2, 1);
        Assert.All(unet.parameters(), p => Assert.False(p.requires_grad));
        Assert.All(te.parameters(), p => Assert.False(p.requires_grad));
        var own = net.parameters().ToList();
        Assert.Equal(net.Modules.Count * 2, own.Count);
        Assert.All(own, p => Assert.True(p.requires_grad));
        var groups = net.ParamGroups(1e-4, textEncoderLr: 5e-5, unetLr: 1e-3);
        Assert.Equal(("text_encoder", 5e-5, 12), (groups[0].Name, groups[0].BaseLr, groups[0].Params.Count));
        Assert.Equal(("unet", 1e-3, 10), (groups[1].Name, groups[1].BaseLr, groups[1].Params.Count));
    }

    [Theory]
    [InlineData(NetworkType.LoRA)]
    [InlineData(NetworkType.LoCon)]
    [InlineData(NetworkType.LoHa)]
    public void Fresh_network_leaves_outputs_unchanged(NetworkType type)
    {
        var (unet, te) = NewModels();
        using var x = UnetInput();
        using var t = TeInput();
        using var y0 = unet.call(x);
        using var z0 = te.call(t);
        using var net = LoraNetwork.Create(unet, te, type, 4, 2, convDim: 2, convAlpha: 1);
        using var y1 = unet.call(x);
        using var z1 = te.call(t);
        // Attaching freezes the base weights, which may change LibTorch's kernel path: equal within float32 rounding.
        FloatAssert.Close(y0, y1, rtol: 1e-5, atol: 1e-6, "UNet output with a fresh network");
        FloatAssert.Close(z0, z1, rtol: 1e-5, atol: 1e-6, "text encoder output with a fresh network");
    }

    [Theory]
    [InlineData(NetworkType.LoRA)]
    [InlineData(NetworkType.LoCon)]
    [InlineData(NetworkType.LoHa)]
    public void Forward_hooks_equal_merged_weights(NetworkType type)
    {
        var (unet, te) = NewModels();
        using var x = UnetInput();
        using var t = TeInput();
        using var y0 = unet.call(x);
        using var net = LoraNetwork.Create(unet, te, type, 2, 1.5, convDim: 2, convAlpha: 1);
        Randomize(net);
        net.SetMultiplier(0.7);
        using var yHook = unet.call(x);
        using var zHook = te.call(t);
        Assert.True((yHook - y0).abs().max().item<float>() > 1e-3, "the adapters should change the output");

        net.MergeInto(0.7);
        using var yMerged = unet.call(x);
        using var zMerged = te.call(t);
        Assert.True(allclose(yHook, yMerged, rtol: 1e-4, atol: 1e-5), $"max diff {(yHook - yMerged).abs().max().item<float>()}");
        Assert.True(allclose(zHook, zMerged, rtol: 1e-4, atol: 1e-5), $"max diff {(zHook - zMerged).abs().max().item<float>()}");
    }

    [Fact]
    public void Multiplier_scales_the_change_and_disable_restores_the_base()
    {
        var (unet, _) = NewModels();
        using var x = UnetInput();
        using var y0 = unet.call(x);
        using var net = LoraNetwork.Create(unet, null, NetworkType.LoRA, 2, 1);
        Randomize(net);
        // Only the Transformer2DModel's last layer sees a linear effect; compare at a single adapted layer instead.
        var layer = net.Modules.Single(m => m.LoraName.EndsWith("attn1_to_q", StringComparison.Ordinal)).Target.Module;
        using var h = randn(3, 4);
        using var base0 = layer.forward(h);    // forward bypasses hooks: the frozen layer alone
        net.SetMultiplier(1.0);
        using var d1 = layer.call(h) - base0;
        net.SetMultiplier(0.5);
        using var d05 = layer.call(h) - base0;
        Assert.True(d1.abs().max().item<float>() > 1e-3);
        Assert.True(allclose(d1, d05 * 2, rtol: 1e-5, atol: 1e-6));

        net.SetEnabled(false);
        using var yOff = unet.call(x);
        FloatAssert.Close(y0, yOff, rtol: 1e-5, atol: 1e-6, "UNet output with the network disabled");
        net.SetEnabled(true);
        net.SetMultiplier(0.0);
        using var yZero = unet.call(x);
        FloatAssert.Close(y0, yZero, rtol: 1e-5, atol: 1e-6, "UNet output at multiplier 0");
    }

    [Fact]
    public void LoHa_delta_is_the_hadamard_product_of_two_low_rank_products()
    {
        manual_seed(0);
        var lin = new LoraBake.Models.GuardedLinear(2, 2, hasBias: false);
        using (no_grad()) lin.weight.copy_(tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2));
        var layer = new TargetLayer(lin);
        using var m = new LoHaModule("lora_unet_x", layer, false, dim: 1, alpha: 0.5);
        using (no_grad())
        {
            m.W1A.copy_(tensor(new float[] { 1, 2 }).reshape(2, 1));
            m.W1B.copy_(tensor(new float[] { 3, 4 }).reshape(1, 2));
            m.W2A.copy_(tensor(new float[] { 0.5f, -1 }).reshape(2, 1));
            m.W2B.copy_(tensor(new float[] { 2, 1 }).reshape(1, 2));
        }
        // w1a@w1b = [[3,4],[6,8]], w2a@w2b = [[1,0.5],[-2,-1]], ⊙ = [[3,2],[-12,-8]]; scale 0.5/1.
        using var raw = m.RawDeltaWeight();
        Assert.Equal(new float[] { 3, 2, -12, -8 }, raw.data<float>().ToArray());
        // Hooked forward with multiplier 2: y = W·x + 2·0.5·ΔW·x; x = [1, 1] → W·x = [3, 7], ΔW·x = [5, −20].
        m.Attach();
        m.Multiplier = 2;
        using var y = lin.call(ones(1, 2));
        Assert.Equal(new float[] { 3 + 5, 7 - 20 }, y.data<float>().ToArray());
    }

    [Fact]
    public void LoRA_init_is_kaiming_uniform_down_and_zero_up()
    {
        var (unet, _) = NewModels();
        using var net = LoraNetwork.Create(unet, null, NetworkType.LoCon, 3, 1, convDim: 3);
        foreach (var m in net.Modules.OfType<LoRAModule>())
        {
            Assert.Equal(0f, m.Up.abs().max().item<float>());
            // kaiming_uniform(a=√5): bound = √(6/((1+5)·fan_in)) = 1/√fan_in.
            double bound = 1.0 / Math.Sqrt(m.Down.shape.Skip(1).Aggregate(1L, (a, b) => a * b));
            Assert.True(m.Down.abs().max().item<float>() <= bound + 1e-7);
            Assert.True(m.Down.abs().max().item<float>() > bound / 4);
        }
    }

    [Theory]
    [InlineData(NetworkType.LoCon)]
    [InlineData(NetworkType.LoHa)]
    public void Save_then_load_round_trips_into_a_fresh_network(NetworkType type)
    {
        var (unetA, teA) = NewModels();
        using var a = LoraNetwork.Create(unetA, teA, type, 2, 1, convDim: 2, convAlpha: 0.5);
        Randomize(a);
        var sd = a.StateDict(ScalarType.Float32);

        var (unetB, teB) = CopyOf(unetA, teA);
        using var b = LoraNetwork.Create(unetB, teB, type, 2, 0, convDim: 2, convAlpha: 2);   // other alphas: Load restores them
        b.Load(sd, "test");
        var sdB = b.StateDict(ScalarType.Float32);
        Assert.Equal(sd.Keys.OrderBy(k => k), sdB.Keys.OrderBy(k => k));
        foreach (var k in sd.Keys) Assert.Equal(sd[k].data<float>().ToArray(), sdB[k].data<float>().ToArray());

        using var x = UnetInput();
        using var ya = unetA.call(x);
        using var yb = unetB.call(x);
        Assert.Equal(ya.data<float>().ToArray(), yb.data<float>().ToArray());

        // An external file: the network is rebuilt from the tensors alone.
        var (unetC, teC) = CopyOf(unetA, teA);
        using var c = LoraNetwork.FromWeights(unetC, teC, sd, "test.safetensors");
        Assert.Equal(type, c.Type);
        Assert.Empty(c.UnmatchedModules);
        using var yc = unetC.call(x);
        Assert.Equal(ya.data<float>().ToArray(), yc.data<float>().ToArray());
        foreach (var t in sd.Values.Concat(sdB.Values)) t.Dispose();
    }

    [Fact]
    public void Load_rejects_mismatched_files_with_a_user_error()
    {
        var (unet, te) = NewModels();
        using var a = LoraNetwork.Create(unet, te, NetworkType.LoRA, 2, 1);
        var sd = a.StateDict(ScalarType.Float32);
        var (unet2, te2) = NewModels();
        using var wrongDim = LoraNetwork.Create(unet2, te2, NetworkType.LoRA, 4, 1);
        var e = Assert.Throws<UserError>(() => wrongDim.Load(sd, "old.safetensors"));
        Assert.Contains("old.safetensors", e.Message);
        var (unet3, _) = NewModels();
        using var noTe = LoraNetwork.Create(unet3, null, NetworkType.LoRA, 2, 1);
        Assert.Throws<UserError>(() => noTe.Load(sd, "old.safetensors"));
        foreach (var t in sd.Values) t.Dispose();
    }
}
