using System.Security.Cryptography;
using System.Text;
using LoraBake.Models.Checkpoints;
using LoraBake.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Networks;

public class KohyaMetadataTests
{
    private static KohyaTrainingInfo Info(NetworkType type) => new()
    {
        OutputName = "my_lora",
        NetworkType = type,
        NetworkDim = 16,
        NetworkAlpha = 8,
        ConvDim = type == NetworkType.LoRA ? null : 8,
        ConvAlpha = type == NetworkType.LoRA ? null : 4,
        LearningRate = 5e-4,
        UnetLr = 5e-4,
        TextEncoderLr = 1e-4,
        LrScheduler = "cosine_with_restarts",
        LrWarmupSteps = 12,
        Optimizer = "torch.optim.adamw.AdamW(weight_decay=0.1)",
        NumEpochs = 10,
        MaxTrainSteps = 250,
        NumBatchesPerEpoch = 25,
        Seed = 42,
        TrainingStartedAt = 1700000000.5,
        SessionId = 123,
        ClipSkip = 2,
        Dataset = new KohyaDatasetInfo(2, 512, 512, true, 256, 1024,
            new[] { new KohyaSubsetInfo("dataset", 10, 5, KeepTokens: 1) },
            new Dictionary<string, IReadOnlyDictionary<string, int>> { ["dataset"] = new Dictionary<string, int> { ["1girl"] = 10, ["café"] = 2 } },
            new[] { new KohyaBucket(512, 512, 30), new KohyaBucket(448, 576, 20) }, 0.01),
    };

    [Theory]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(5e-5, "5e-05")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(8.0, "8.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1700000000.5, "1700000000.5")]
    [InlineData(123.456, "123.456")]
    public void Floats_print_like_python_repr(double value, string expected) => Assert.Equal(expected, PythonJson.Float(value));

    [Fact]
    public void Json_matches_python_json_dumps_defaults()
    {
        var obj = new Dictionary<string, object?> { ["a"] = new object?[] { 1, 2.0, null, true }, ["b"] = "café \"x\"" };
        Assert.Equal("{\"a\": [1, 2.0, null, true], \"b\": \"caf\\u00e9 \\\"x\\\"\"}", PythonJson.Dumps(obj));
    }

    [Fact]
    public void LoRA_metadata_has_the_kohya_keys_and_python_formatted_values()
    {
        var m = KohyaMetadata.Build(Info(NetworkType.LoRA));
        string[] always =
        {
            "ss_session_id", "ss_training_started_at", "ss_output_name", "ss_learning_rate", "ss_text_encoder_lr", "ss_unet_lr",
            "ss_num_train_images", "ss_num_validation_images", "ss_num_reg_images", "ss_num_batches_per_epoch", "ss_num_epochs",
            "ss_gradient_checkpointing", "ss_gradient_accumulation_steps", "ss_max_train_steps", "ss_lr_warmup_steps", "ss_lr_scheduler",
            "ss_network_module", "ss_network_dim", "ss_network_alpha", "ss_network_dropout", "ss_mixed_precision", "ss_full_fp16", "ss_v2",
            "ss_base_model_version", "ss_clip_skip", "ss_max_token_length", "ss_cache_latents", "ss_seed", "ss_lowram", "ss_noise_offset",
            "ss_multires_noise_iterations", "ss_multires_noise_discount", "ss_adaptive_noise_scale", "ss_zero_terminal_snr",
            "ss_training_comment", "ss_sd_scripts_commit_hash", "ss_optimizer", "ss_max_grad_norm", "ss_caption_dropout_rate",
            "ss_caption_dropout_every_n_epochs", "ss_caption_tag_dropout_rate", "ss_face_crop_aug_range", "ss_prior_loss_weight",
            "ss_min_snr_gamma", "ss_scale_weight_norms", "ss_ip_noise_gamma", "ss_debiased_estimation", "ss_noise_offset_random_strength",
            "ss_ip_noise_gamma_random_strength", "ss_loss_type", "ss_huber_schedule", "ss_huber_scale", "ss_huber_c", "ss_fp8_base",
            "ss_fp8_base_unet", "ss_validation_seed", "ss_validation_split", "ss_max_validation_steps", "ss_validate_every_n_epochs",
            "ss_validate_every_n_steps", "ss_resize_interpolation", "ss_datasets", "ss_tag_frequency", "ss_dataset_dirs",
        };
        foreach (var k in always) Assert.True(m.ContainsKey(k), $"missing {k}");
        Assert.Equal("networks.lora", m["ss_network_module"]);
        Assert.Equal("16", m["ss_network_dim"]);
        Assert.Equal("8", m["ss_network_alpha"]);
        Assert.False(m.ContainsKey("ss_network_args"));
        Assert.Equal("0.0005", m["ss_learning_rate"]);
        Assert.Equal("0.0001", m["ss_text_encoder_lr"]);
        Assert.Equal("2", m["ss_clip_skip"]);
        Assert.Equal("None", m["ss_noise_offset"]);
        Assert.Equal("False", m["ss_v2"]);
        Assert.Equal("sd_v1", m["ss_base_model_version"]);
        Assert.Equal("50", m["ss_num_train_images"]);
        Assert.Equal("{\"dataset\": {\"1girl\": 10, \"caf\\u00e9\": 2}}", m["ss_tag_frequency"]);
        Assert.Equal("{\"dataset\": {\"n_repeats\": 5, \"img_count\": 10}}", m["ss_dataset_dirs"]);
        Assert.StartsWith("[{\"is_dreambooth\": true, \"batch_size_per_device\": 2, \"num_train_images\": 50, ", m["ss_datasets"]);
        Assert.Contains("\"bucket_info\": {\"buckets\": {\"0\": {\"resolution\": [512, 512], \"count\": 30}, \"1\": {\"resolution\": [448, 576], \"count\": 20}}, \"mean_img_ar_error\": 0.01}", m["ss_datasets"]);
        Assert.All(m.Keys, k => Assert.StartsWith("ss_", k));
    }

    [Fact]
    public void LoCon_and_LoHa_record_network_args()
    {
        var locon = KohyaMetadata.Build(Info(NetworkType.LoCon));
        Assert.Equal("networks.lora", locon["ss_network_module"]);
        Assert.Equal("{\"conv_dim\": \"8\", \"conv_alpha\": \"4\"}", locon["ss_network_args"]);
        var loha = KohyaMetadata.Build(Info(NetworkType.LoHa));
        Assert.Equal("lycoris.kohya", loha["ss_network_module"]);
        Assert.Equal("{\"conv_dim\": \"8\", \"conv_alpha\": \"4\", \"algo\": \"loha\"}", loha["ss_network_args"]);
    }

    [Fact]
    public void Per_save_keys_and_modelspec()
    {
        var info = Info(NetworkType.LoRA);
        var m = KohyaMetadata.ForSave(KohyaMetadata.Build(info), info, epoch: 3, steps: 75, savedAt: 1700003600.25);
        Assert.Equal("3", m["ss_epoch"]);
        Assert.Equal("75", m["ss_steps"]);
        Assert.Equal("1700003600.25", m["ss_training_finished_at"]);
        Assert.Equal("stable-diffusion-v1/lora", m["modelspec.architecture"]);
        Assert.Equal("512x512", m["modelspec.resolution"]);
        Assert.Equal("2023-11-14T23:13:20", m["modelspec.date"]);
        Assert.Equal("2", m["modelspec.encoder_layer"]);
        Assert.Equal("my_lora", m["modelspec.title"]);
    }

    /// <summary>A safetensors file built byte by byte here, hashed with the addnet rules.</summary>
    [Fact]
    public void Hashes_follow_addnet_rules_on_a_hand_built_file()
    {
        const int n = 300_000;   // 1.2 MB of data, so offset 1 MiB lies inside it
        var values = Enumerable.Range(0, n).Select(i => (float)Math.Sin(i)).ToArray();
        var data = new byte[n * 4];
        Buffer.BlockCopy(values, 0, data, 0, data.Length);
        string json = "{\"__metadata__\":{\"ss_a\":\"b\"},\"t\":{\"dtype\":\"F32\",\"shape\":[" + n + "],\"data_offsets\":[0," + data.Length + "]}}";
        var header = Encoding.UTF8.GetBytes(json.PadRight((json.Length + 7) / 8 * 8));
        var file = BitConverter.GetBytes((ulong)header.Length).Concat(header).Concat(data).ToArray();

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), KohyaMetadata.AddnetHashSafetensors(file));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(file.AsSpan(0x100000, 0x10000)))[..8], KohyaMetadata.AddnetHashLegacy(file));

        // The same tensor through PrecalculateHashes: non-ss keys are dropped before serialising, so it
        // reproduces the hand-built file exactly.
        using var t = tensor(values);
        var (model, legacy) = KohyaMetadata.PrecalculateHashes(new Dictionary<string, Tensor> { ["t"] = t },
            new Dictionary<string, string> { ["ss_a"] = "b", ["modelspec.title"] = "ignored" });
        Assert.Equal(KohyaMetadata.AddnetHashSafetensors(file), model);
        Assert.Equal(KohyaMetadata.AddnetHashLegacy(file), legacy);
    }

    [Fact]
    public void Saved_file_carries_hashes_of_its_own_tensor_data()
    {
        using var dir = new TempFolder("lorabake-kohya-");
        manual_seed(0);
        var tensors = new Dictionary<string, Tensor>
        {
            ["lora_unet_x.lora_down.weight"] = randn(4, 8).to(ScalarType.BFloat16),
            ["lora_unet_x.lora_up.weight"] = zeros(8, 4).to(ScalarType.BFloat16),
            ["lora_unet_x.alpha"] = tensor(2f).to(ScalarType.BFloat16),
        };
        var info = Info(NetworkType.LoRA);
        var meta = KohyaMetadata.ForSave(KohyaMetadata.Build(info), info, 1, 25, 1700000100);
        var path = dir.File("my_lora.safetensors");
        KohyaMetadata.Save(path, tensors, meta);

        var bytes = File.ReadAllBytes(path);
        var file = SafetensorsFile.Open(path);
        Assert.Equal(KohyaMetadata.AddnetHashSafetensors(bytes), file.Metadata["sshs_model_hash"]);
        Assert.Equal(64, file.Metadata["sshs_model_hash"].Length);
        Assert.Equal(8, file.Metadata["sshs_legacy_hash"].Length);
        Assert.Equal("networks.lora", file.Metadata["ss_network_module"]);
        Assert.Equal("my_lora", file.Metadata["modelspec.title"]);
        Assert.Equal(3, file.Entries.Count);
        foreach (var t in tensors.Values) t.Dispose();
    }
}
