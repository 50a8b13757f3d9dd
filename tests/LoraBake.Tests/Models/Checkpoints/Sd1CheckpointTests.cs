using LoraBake.Models.Checkpoints;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.Checkpoints;

public class Sd1CheckpointTests
{
    static string TinyLdm => GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors");

    static void AssertSameTensors(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual, string what)
    {
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (k, e) in expected)
        {
            var a = actual[k];
            Assert.True(e.dtype == a.dtype, $"{what} {k}: dtype {a.dtype} != {e.dtype}");
            Assert.True(e.shape.SequenceEqual(a.shape), $"{what} {k}: shape [{string.Join(",", a.shape)}] != [{string.Join(",", e.shape)}]");
            using var ac = a.contiguous();
            Assert.True(e.bytes.SequenceEqual(ac.bytes), $"{what} {k}: values differ");
        }
    }

    static Dictionary<string, Tensor> Diffusers(string component, string file) =>
        SafetensorsFile.Open(GoldensFolder.File("tiny_a", "diffusers", component, file)).Load();

    [Fact]
    public void Converted_components_equal_the_diffusers_files_bit_for_bit()
    {
        using var ckpt = Sd1Checkpoint.Open(TinyLdm);
        AssertSameTensors(Diffusers("unet", "diffusion_pytorch_model.safetensors"), ckpt.UnetStateDict, "unet");
        AssertSameTensors(Diffusers("vae", "diffusion_pytorch_model.safetensors"), ckpt.VaeStateDict, "vae");
        AssertSameTensors(Diffusers("text_encoder", "model.safetensors"), ckpt.TextStateDict, "text");
        Assert.Equal(ModelFamily.Sd1, ckpt.Family);
        Assert.Equal(ScalarType.Float32, ckpt.DType);
        Assert.Equal(TinyLdm, ckpt.SourcePath);
    }

    [Fact]
    public void The_sidecar_sets_head_counts_and_vae_groups()
    {
        using var ckpt = Sd1Checkpoint.Open(TinyLdm);
        Assert.NotNull(ckpt.Sidecar);
        Assert.Equal(2, ckpt.UnetHeads);
        Assert.Equal(4, ckpt.TextHeads);
        Assert.Equal(4, ckpt.VaeNormGroups);
        Assert.Equal(1e-6, ckpt.VaeNormEps);
    }

    [Fact]
    public void Without_a_sidecar_sd1_defaults_apply_and_impossible_ones_are_reported()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var copy = tmp.File("model.safetensors");
        File.Copy(TinyLdm, copy);
        // Width 32 cannot hold CLIP ViT-L's 12 heads: the error must say so and point at the sidecar.
        var e = Assert.Throws<UserError>(() => Sd1Checkpoint.Open(copy));
        Assert.Contains("12 heads", e.Message);
        Assert.Contains("model.json", e.Message);

        File.WriteAllText(tmp.File("model.json"), "{\"text_encoder\": {\"num_heads\": 4}}");
        using var ckpt = Sd1Checkpoint.Open(copy);
        Assert.Equal(Sd1Checkpoint.DefaultUnetHeads, ckpt.UnetHeads);
        Assert.Equal(4, ckpt.TextHeads);
        Assert.Equal(32, ckpt.VaeNormGroups);
    }

    [Fact]
    public void Diffusers_to_original_round_trips_to_the_reference_file()
    {
        var original = SafetensorsFile.Open(TinyLdm).Load();
        using var ckpt = Sd1Checkpoint.Open(TinyLdm);
        var back = Sd1Checkpoint.ToOriginalLayout(ckpt.UnetStateDict, ckpt.VaeStateDict, ckpt.TextStateDict);
        AssertSameTensors(original, back, "ldm");
        foreach (var t in original.Values) t.Dispose();
    }

    [Fact]
    public void Extra_buffers_are_tolerated_and_dropped()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var sd = SafetensorsFile.Open(TinyLdm).Load();
        sd["betas"] = linspace(0.00085, 0.012, 1000);
        sd["alphas_cumprod"] = ones(1000);
        sd["model_ema.decay"] = tensor(0.9999f);
        sd["model_ema.diffusion_modelinput_blocks00weight"] = zeros(2, 2);
        sd["cond_stage_model.transformer.text_model.embeddings.position_ids"] = arange(77L).unsqueeze(0);
        var path = tmp.File("full.safetensors");
        SafetensorsWriter.Save(path, sd);
        File.Copy(Path.ChangeExtension(TinyLdm, ".json"), tmp.File("full.json"));

        using var ckpt = Sd1Checkpoint.Open(path);
        AssertSameTensors(Diffusers("text_encoder", "model.safetensors"), ckpt.TextStateDict, "text");
        Assert.Equal(Diffusers("unet", "diffusion_pytorch_model.safetensors").Count, ckpt.UnetStateDict.Count);
        foreach (var t in sd.Values) t.Dispose();
    }

    [Fact]
    public void A_ckpt_gives_the_same_components_as_the_safetensors()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var sd = SafetensorsFile.Open(TinyLdm).Load();
        var path = tmp.File("model.ckpt");
        TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(path, sd);
        File.Copy(Path.ChangeExtension(TinyLdm, ".json"), tmp.File("model.json"));

        using var fromCkpt = Sd1Checkpoint.Open(path, dtype: ScalarType.Float16);
        using var fromSafetensors = Sd1Checkpoint.Open(TinyLdm, dtype: ScalarType.Float16);
        Assert.Equal(ScalarType.Float16, fromCkpt.DType);
        AssertSameTensors(fromSafetensors.UnetStateDict, fromCkpt.UnetStateDict, "unet");
        AssertSameTensors(fromSafetensors.VaeStateDict, fromCkpt.VaeStateDict, "vae");
        foreach (var t in sd.Values) t.Dispose();
    }

    [Theory]
    [InlineData("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", "SDXL", "conditioner.embedders.")]
    [InlineData("cond_stage_model.model.ln_final.weight", "SD 2.x", "cond_stage_model.model.")]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", "LoRA network", "lora_unet_")]
    [InlineData("model.diffusion_model.double_blocks.0.img_attn.qkv.weight", "Flux", "double_blocks")]
    public void Other_families_are_refused_by_name(string key, string family, string evidence)
    {
        using var tmp = new TempFolder("lorabake-models-");
        var path = tmp.File("other.safetensors");
        using var t = zeros(2);
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { [key] = t, ["model.diffusion_model.x"] = t });
        var e = Assert.Throws<UserError>(() => Sd1Checkpoint.Open(path));
        Assert.Contains(family, e.Message);
        Assert.Contains(evidence, e.Message);
        Assert.Contains("SD 1.x only", e.Message);
    }

    [Theory]
    [InlineData("lora", ModelFamily.Lora)]
    [InlineData("locon", ModelFamily.LoCon)]
    [InlineData("loha", ModelFamily.LoHa)]
    public void Network_files_are_recognised(string name, ModelFamily family)
    {
        var f = SafetensorsFile.Open(GoldensFolder.File("tiny_a", "goldens", "lora", name + ".safetensors"));
        Assert.Equal(family, FamilyDetection.Detect(f.Keys).Family);
    }

    [Fact]
    public void A_separate_vae_replaces_the_checkpoints_own_in_any_key_layout()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var expected = Diffusers("vae", "diffusion_pytorch_model.safetensors");
        // Mark the replacement so it is distinguishable from the checkpoint's own VAE.
        var marked = expected.ToDictionary(kv => kv.Key, kv => kv.Value + 1);
        var ldm = VaeKeyMap.ToLdm(marked, "test");
        var files = new Dictionary<string, Dictionary<string, Tensor>>
        {
            ["diffusers.safetensors"] = marked,
            ["ldm.safetensors"] = ldm,
            ["prefixed.safetensors"] = ldm.ToDictionary(kv => "first_stage_model." + kv.Key, kv => kv.Value),
        };
        foreach (var (name, sd) in files)
        {
            SafetensorsWriter.Save(tmp.File(name), sd);
            using var ckpt = Sd1Checkpoint.Open(TinyLdm, tmp.File(name));
            AssertSameTensors(marked, ckpt.VaeStateDict, name);
            Assert.Equal(tmp.File(name), ckpt.VaePath);
        }
    }
}
