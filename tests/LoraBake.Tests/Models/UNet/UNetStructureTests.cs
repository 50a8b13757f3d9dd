using LoraBake.Models.UNet;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.UNet;

public class UNetStructureTests
{
    [Fact]
    public void Parameter_names_and_shapes_equal_the_diffusers_file()
    {
        var weights = TinyAUNet.LoadWeights();
        try
        {
            using var model = new UNet2DConditionModel(TinyAUNet.InferConfig(weights), device: new Device(DeviceType.META));
            var own = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
            Assert.Equal(weights.Keys.OrderBy(k => k, StringComparer.Ordinal), own.Keys.OrderBy(k => k, StringComparer.Ordinal));
            foreach (var (name, shape) in own) Assert.True(weights[name].shape.SequenceEqual(shape), name);
            Assert.Empty(model.named_buffers());
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    [Fact]
    public void Config_inferred_from_tiny_a_shapes_matches_its_description()
    {
        var weights = TinyAUNet.LoadWeights();
        try
        {
            var config = TinyAUNet.InferConfig(weights);
            var json = TinyAUNet.NeutralConfig;
            Assert.Equal(json.GetProperty("block_out_channels").EnumerateArray().Select(e => e.GetInt32()), config.BlockOutChannels);
            var levels = json.GetProperty("levels").EnumerateArray().ToList();
            Assert.Equal(levels.Select(l => l.GetProperty("cross_attention").GetBoolean()), config.CrossAttention);
            Assert.All(levels, l => Assert.Equal(l.GetProperty("res_blocks_down").GetInt32(), config.LayersPerBlock));
            Assert.Equal(json.GetProperty("mid_block").GetProperty("cross_attention").GetBoolean(), config.MidBlockCrossAttention);
            Assert.Equal(json.GetProperty("context_dim").GetInt32(), config.CrossAttentionDim);
            Assert.Equal(json.GetProperty("in_channels").GetInt32(), config.InChannels);
            Assert.Equal(json.GetProperty("out_channels").GetInt32(), config.OutChannels);
            Assert.Equal(json.GetProperty("transformer_depth").GetInt32(), config.TransformerDepth);
            Assert.Equal(json.GetProperty("time_embedding").GetProperty("embed_dim").GetInt32(), config.TimeEmbedDim);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    [Fact]
    public void Full_size_sd15_built_on_meta_has_859_520_964_parameters()
    {
        using var model = new UNet2DConditionModel(UNetConfig.Sd15, device: new Device(DeviceType.META));
        var parameters = model.named_parameters().ToList();
        Assert.All(parameters, p => Assert.Equal(DeviceType.META, p.parameter.device_type));
        Assert.Equal(859_520_964L, parameters.Sum(p => p.parameter.numel()));
        // kohya's LoRA targets: 16 Transformer2DModel blocks (down 6, mid 1, up 9), docs/kohya-compatibility.md, "LoRA targets".
        Assert.Equal(16, model.modules().OfType<Transformer2DModel>().Count());
        Assert.Equal(22, model.modules().OfType<ResnetBlock2D>().Count());
    }

    [Fact]
    public void Sd15_config_round_trips_through_inference_from_shapes()
    {
        using var model = new UNet2DConditionModel(UNetConfig.Sd15, device: new Device(DeviceType.META));
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        var inferred = UNetConfig.Infer(shapes);
        Assert.Equal(UNetConfig.Sd15.BlockOutChannels, inferred.BlockOutChannels);
        Assert.Equal(UNetConfig.Sd15.CrossAttention, inferred.CrossAttention);
        Assert.Equal(UNetConfig.Sd15 with { BlockOutChannels = inferred.BlockOutChannels, CrossAttention = inferred.CrossAttention }, inferred);
    }

    [Fact]
    public void Inference_rejects_sd2_linear_projections_and_wrong_head_counts_with_the_reason()
    {
        var weights = TinyAUNet.LoadWeights();
        try
        {
            var shapes = UNetConfig.ShapesOf(weights);
            var sd2Like = new Dictionary<string, long[]>(shapes) { ["down_blocks.0.attentions.0.proj_in.weight"] = [32, 32] };
            var linear = Assert.Throws<LoraBake.Runtime.UserError>(() => UNetConfig.Infer(sd2Like, 2, 8, source: "x.safetensors"));
            Assert.Contains("x.safetensors", linear.Message);
            Assert.Contains("use_linear_projection", linear.Message);
            // tiny_a's 32 and 64 channels cannot be split into 3 heads.
            var heads = Assert.Throws<LoraBake.Runtime.UserError>(() => UNetConfig.Infer(shapes, numHeads: 3, normNumGroups: 8));
            Assert.Contains("3 attention heads", heads.Message);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    [Fact]
    public void Forward_hooks_on_leaf_linears_take_effect()
    {
        // Adapters may attach to the leaf Linear/Conv2d layers as forward hooks: blocks must call their children
        // through Module.call, not forward, for that to work.
        using var model = TinyAUNet.Load();
        var golden = TinyAUNet.LoadGolden();
        try
        {
            using var noGrad = no_grad();
            using var before = model.forward(golden["sample"], golden["timesteps"], golden["encoder_hidden_states"]);
            var toOut = (LoraBake.Models.GuardedLinear)model.named_modules()
                .Single(m => m.name == "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_out.0").module;
            toOut.register_forward_hook((m, input, output) => output * 2);
            using var after = model.forward(golden["sample"], golden["timesteps"], golden["encoder_hidden_states"]);
            Assert.False(before.allclose(after, rtol: 0, atol: 1e-4));
        }
        finally
        {
            foreach (var t in golden.Values) t.Dispose();
        }
    }
}
