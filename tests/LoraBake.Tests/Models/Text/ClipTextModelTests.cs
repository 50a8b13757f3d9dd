using LoraBake.Models.Text;
using LoraBake.Runtime;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.Text;

public class ClipTextModelTests(Xunit.Abstractions.ITestOutputHelper log)
{
    // Same float32 math on another code path (SDPA vs. transformers' explicit softmax, other kernels) differs
    // by ~1e-6 on outputs of magnitude ~1; 1e-5 absolute leaves room for that and catches any real error.
    const double Tolerance = 1e-5;

    static string TinyTextEncoder => Path.Combine(GoldensFolder.File("tiny_a"), "diffusers", "text_encoder", "model.safetensors");
    static string Goldens => Path.Combine(GoldensFolder.File("tiny_a"), "goldens", "text_encoder.safetensors");

    internal static ClipTextModel LoadTiny()
    {
        var sd = Safetensors.LoadStateDict(TinyTextEncoder);
        try { return ClipTextModel.FromStateDict(sd, numAttentionHeads: 4); }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    void AssertClose(Tensor expected, Tensor actual, string name)
    {
        Assert.Equal(expected.shape, actual.shape);
        var diff = (expected - actual).abs().max().item<float>();
        log.WriteLine($"{name}: max |diff| {diff:E2}");
        Assert.True(diff <= Tolerance, $"{name}: max |diff| {diff:E3} > {Tolerance:E0}");
    }

    [Fact]
    public void Config_is_read_from_shapes()
    {
        var sd = Safetensors.LoadStateDict(TinyTextEncoder);
        try
        {
            var c = ClipTextConfig.FromStateDict(sd, numAttentionHeads: 4);
            Assert.Equal(new ClipTextConfig(VocabSize: 49408, HiddenSize: 32, NumHiddenLayers: 3, NumAttentionHeads: 4,
                IntermediateSize: 37, MaxPositionEmbeddings: 77), c);
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    [Fact]
    public void Matches_transformers_goldens()
    {
        using var model = LoadTiny();
        var g = Safetensors.LoadStateDict(Goldens);
        try
        {
            using var noGrad = no_grad();
            var ids = g["input_ids"];
            Assert.Equal(ScalarType.Int64, ids.dtype);
            using var output = model.Forward(ids, outputHiddenStates: true);
            AssertClose(g["last_hidden_state"], output.LastHiddenState, "last_hidden_state");
            AssertClose(g["pooled_output"], output.PooledOutput, "pooled_output");
            Assert.Equal(4, output.HiddenStates.Count);
            using var all = stack(output.HiddenStates.ToArray());
            AssertClose(g["hidden_states_all"], all, "hidden_states_all");
            AssertClose(g["penultimate_hidden_state_raw"], output.HiddenStates[^2], "penultimate_hidden_state_raw");

            using var skip2 = model.ForwardClipSkip(ids, 2);
            AssertClose(g["clip_skip_2"], skip2, "clip_skip_2");
            using var skip1 = model.ForwardClipSkip(ids, 1);
            AssertClose(g["last_hidden_state"], skip1, "clip skip 1");
            using var plain = model.forward(ids);
            AssertClose(g["last_hidden_state"], plain, "forward");
        }
        finally { foreach (var t in g.Values) t.Dispose(); }
    }

    [Fact]
    public void Parameter_names_are_transformers_keys()
    {
        using var model = new ClipTextModel(new ClipTextConfig(VocabSize: 10, HiddenSize: 8, NumHiddenLayers: 2,
            NumAttentionHeads: 2, IntermediateSize: 5, MaxPositionEmbeddings: 6));
        var names = model.state_dict().Keys.ToHashSet();
        Assert.Contains("text_model.embeddings.token_embedding.weight", names);
        Assert.Contains("text_model.embeddings.position_embedding.weight", names);
        Assert.Contains("text_model.encoder.layers.1.self_attn.q_proj.weight", names);
        Assert.Contains("text_model.encoder.layers.0.self_attn.out_proj.bias", names);
        Assert.Contains("text_model.encoder.layers.0.layer_norm1.weight", names);
        Assert.Contains("text_model.encoder.layers.0.mlp.fc2.weight", names);
        Assert.Contains("text_model.final_layer_norm.bias", names);
        Assert.Equal(3 + 2 * 16 + 2 - 1, names.Count); // 2 embeddings, 16 per layer, final LN weight+bias
        Assert.DoesNotContain(ClipTextModel.PositionIdsKey, names);
    }

    [Fact]
    public void Load_reports_missing_and_unexpected_keys()
    {
        var sd = Safetensors.LoadStateDict(TinyTextEncoder);
        try
        {
            using var model = new ClipTextModel(ClipTextConfig.FromStateDict(sd, 4));
            var broken = new Dictionary<string, Tensor>(sd);
            broken.Remove("text_model.final_layer_norm.weight");
            broken["text_model.extra.weight"] = sd["text_model.final_layer_norm.bias"];
            using var positionIds = arange(77, dtype: ScalarType.Int64).unsqueeze(0);
            broken[ClipTextModel.PositionIdsKey] = positionIds;
            var e = Assert.Throws<UserError>(() => model.LoadStateDict(broken, "x.safetensors"));
            Assert.Contains("missing keys (1): text_model.final_layer_norm.weight", e.Message);
            Assert.Contains("unexpected keys (1): text_model.extra.weight", e.Message);

            // position_ids alone is tolerated.
            var withPositionIds = new Dictionary<string, Tensor>(sd) { [ClipTextModel.PositionIdsKey] = positionIds };
            model.LoadStateDict(withPositionIds);
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    [Fact]
    public void Loads_keys_without_the_text_model_level()
    {
        var sd = Safetensors.LoadStateDict(TinyTextEncoder);
        try
        {
            var legacy = sd.ToDictionary(kv => kv.Key["text_model.".Length..], kv => kv.Value);
            using var model = ClipTextModel.FromStateDict(legacy, numAttentionHeads: 4);
            using var reference = LoadTiny();
            using var noGrad = no_grad();
            using var ids = tensor(new long[] { 49406, 320, 2368, 49407 }, [1, 4]);
            using var a = model.forward(ids);
            using var b = reference.forward(ids);
            Assert.Equal(0f, (a - b).abs().max().item<float>());
        }
        finally { foreach (var t in sd.Values) t.Dispose(); }
    }

    [Fact]
    public void Full_size_sd1_text_encoder_has_transformers_parameter_count()
    {
        // Built on the meta device: shapes only, no memory.
        using var model = new ClipTextModel(ClipTextConfig.Sd1, device: torch.device("meta"));
        long count = model.parameters().Sum(p => p.numel());
        Assert.Equal(123_060_480L, count);
        Assert.Equal(DeviceType.META, model.parameters().First().device_type);
        Assert.Equal(196, model.state_dict().Count);
    }
}
