using System.Globalization;
using System.Security.Cryptography;
using LoraBake.Models.Checkpoints;
using static TorchSharp.torch;

namespace LoraBake.Networks;

/// <summary>
/// The metadata sd-scripts' <c>train_network.py</c> writes into a LoRA file (all values strings):
/// <c>ss_*</c> training record (<c>str(value)</c> of Python values, JSON via <c>json.dumps</c>),
/// <c>modelspec.*</c> (<c>library/sai_model_spec.py</c>), and the sd-webui-additional-networks hashes
/// <c>sshs_model_hash</c> / <c>sshs_legacy_hash</c> (<c>train_util.precalculate_safetensors_hashes</c>).
/// </summary>
public static class KohyaMetadata
{
    public const string SaiModelSpecVersion = "1.0.1";

    /// <summary>The <c>ss_*</c> keys known when training starts (per-save keys come from <see cref="ForSave"/>).</summary>
    public static Dictionary<string, string> Build(KohyaTrainingInfo info)
    {
        var ds = info.Dataset;
        var m = new Dictionary<string, object?>
        {
            ["ss_session_id"] = info.SessionId,
            ["ss_training_started_at"] = info.TrainingStartedAt,
            ["ss_output_name"] = info.OutputName,
            ["ss_learning_rate"] = info.LearningRate,
            ["ss_text_encoder_lr"] = info.TextEncoderLr,
            ["ss_unet_lr"] = info.UnetLr,
            ["ss_num_train_images"] = ds.NumTrainImages,
            ["ss_num_validation_images"] = 0,
            ["ss_num_reg_images"] = ds.NumRegImages,
            ["ss_num_batches_per_epoch"] = info.NumBatchesPerEpoch,
            ["ss_num_epochs"] = info.NumEpochs,
            ["ss_gradient_checkpointing"] = info.GradientCheckpointing,
            ["ss_gradient_accumulation_steps"] = info.GradientAccumulationSteps,
            ["ss_max_train_steps"] = info.MaxTrainSteps,
            ["ss_lr_warmup_steps"] = info.LrWarmupSteps,
            ["ss_lr_scheduler"] = info.LrScheduler,
            ["ss_network_module"] = NetworkModuleName(info.NetworkType),
            ["ss_network_dim"] = info.NetworkDim,
            ["ss_network_alpha"] = ConfigNumber(info.NetworkAlpha),
            ["ss_network_dropout"] = null,
            ["ss_mixed_precision"] = info.MixedPrecision,
            ["ss_full_fp16"] = info.FullFp16,
            ["ss_v2"] = false,
            ["ss_base_model_version"] = info.VParameterization ? "sd_v1_v" : "sd_v1",
            ["ss_clip_skip"] = info.ClipSkip,
            ["ss_max_token_length"] = info.MaxTokenLength,
            ["ss_cache_latents"] = info.CacheLatents,
            ["ss_seed"] = info.Seed,
            ["ss_lowram"] = false,
            ["ss_noise_offset"] = info.NoiseOffset,
            ["ss_multires_noise_iterations"] = null,
            ["ss_multires_noise_discount"] = 0.3,
            ["ss_adaptive_noise_scale"] = null,
            ["ss_zero_terminal_snr"] = false,
            ["ss_training_comment"] = info.TrainingComment,
            ["ss_sd_scripts_commit_hash"] = info.ImplementationVersion,
            ["ss_optimizer"] = info.Optimizer,
            ["ss_max_grad_norm"] = info.MaxGradNorm,
            ["ss_caption_dropout_rate"] = info.CaptionDropoutRate,
            ["ss_caption_dropout_every_n_epochs"] = info.CaptionDropoutEveryNEpochs,
            ["ss_caption_tag_dropout_rate"] = info.CaptionTagDropoutRate,
            ["ss_face_crop_aug_range"] = null,
            ["ss_prior_loss_weight"] = info.PriorLossWeight,
            ["ss_min_snr_gamma"] = info.MinSnrGamma,
            ["ss_scale_weight_norms"] = null,
            ["ss_ip_noise_gamma"] = null,
            ["ss_debiased_estimation"] = false,
            ["ss_noise_offset_random_strength"] = false,
            ["ss_ip_noise_gamma_random_strength"] = false,
            ["ss_loss_type"] = info.LossType,
            ["ss_huber_schedule"] = "snr",
            ["ss_huber_scale"] = 1.0,
            ["ss_huber_c"] = 0.1,
            ["ss_fp8_base"] = false,
            ["ss_fp8_base_unet"] = false,
            ["ss_validation_seed"] = null,
            ["ss_validation_split"] = 0.0,
            ["ss_max_validation_steps"] = null,
            ["ss_validate_every_n_epochs"] = null,
            ["ss_validate_every_n_steps"] = null,
            ["ss_resize_interpolation"] = null,
        };
        // sd-scripts writes ss_network_args only when network_args were given.
        var args = NetworkArgs(info);
        if (args.Count > 0) m["ss_network_args"] = PythonJson.Dumps(args);

        // The colab trains from a dataset config, so sd-scripts records ss_datasets and the merged views.
        m["ss_datasets"] = PythonJson.Dumps(new[] { DatasetJson(ds) });
        var tagFrequency = new Dictionary<string, object?>();
        foreach (var (dir, tags) in ds.TagFrequency)
            tagFrequency.TryAdd(dir, tags.ToDictionary(kv => kv.Key, kv => (object?)kv.Value));
        m["ss_tag_frequency"] = PythonJson.Dumps(tagFrequency);
        var dirs = new Dictionary<string, object?>();
        foreach (var s in ds.Subsets.Where(s => !s.IsReg))
        {
            var name = s.ImageDir;
            for (int i = 2; dirs.ContainsKey(name); i++) name = $"{s.ImageDir} ({i})";
            dirs[name] = new Dictionary<string, object?> { ["n_repeats"] = s.NumRepeats, ["img_count"] = s.ImgCount };
        }
        m["ss_dataset_dirs"] = PythonJson.Dumps(dirs);

        if (info.SdModelName is not null)
        {
            m["ss_sd_model_name"] = info.SdModelName;
            m["ss_sd_model_hash"] = info.SdModelHash;
            m["ss_new_sd_model_hash"] = info.NewSdModelHash;
        }
        if (info.VaeName is not null)
        {
            m["ss_vae_name"] = info.VaeName;
            m["ss_vae_hash"] = info.VaeHash;
            m["ss_new_vae_hash"] = info.NewVaeHash;
        }

        return m.ToDictionary(kv => kv.Key, kv => PythonJson.Str(kv.Value));
    }

    /// <summary>
    /// The metadata of one saved file: <paramref name="start"/> plus <c>ss_training_finished_at</c>,
    /// <c>ss_steps</c>, <c>ss_epoch</c> and the <c>modelspec.*</c> keys dated <paramref name="savedAt"/>.
    /// </summary>
    public static Dictionary<string, string> ForSave(IReadOnlyDictionary<string, string> start, KohyaTrainingInfo info,
                                                     int epoch, int steps, double savedAt)
    {
        var m = new Dictionary<string, string>(start)
        {
            ["ss_training_finished_at"] = PythonJson.Float(savedAt),
            ["ss_steps"] = steps.ToString(CultureInfo.InvariantCulture),
            ["ss_epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
            ["modelspec.sai_model_spec"] = SaiModelSpecVersion,
            ["modelspec.architecture"] = "stable-diffusion-v1/lora",
            ["modelspec.implementation"] = "diffusers",
            ["modelspec.title"] = info.Title ?? info.OutputName,
            ["modelspec.resolution"] = $"{info.Dataset.ResolutionWidth}x{info.Dataset.ResolutionHeight}",
            ["modelspec.date"] = DateTimeOffset.FromUnixTimeSeconds((long)savedAt).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture),
            ["modelspec.prediction_type"] = info.VParameterization ? "v" : "epsilon",
            ["modelspec.implementation_version"] = info.ImplementationVersion,
        };
        if (info.ClipSkip is int cs) m["modelspec.encoder_layer"] = cs.ToString(CultureInfo.InvariantCulture);
        return m;
    }

    /// <summary><c>networks.lora</c> for LoRA/LoCon, <c>lycoris.kohya</c> for LoHa.</summary>
    public static string NetworkModuleName(NetworkType type) => type == NetworkType.LoHa ? "lycoris.kohya" : "networks.lora";

    /// <summary>network_args as the colab passes them (string values): conv_dim, conv_alpha, then algo for LyCORIS.</summary>
    private static Dictionary<string, object?> NetworkArgs(KohyaTrainingInfo info)
    {
        var args = new Dictionary<string, object?>();
        if (info.NetworkType != NetworkType.LoRA)
        {
            args["conv_dim"] = (info.ConvDim ?? info.NetworkDim).ToString(CultureInfo.InvariantCulture);
            args["conv_alpha"] = ConfigNumber(info.ConvAlpha ?? (info.NetworkType == NetworkType.LoHa ? info.NetworkAlpha : 1.0));
        }
        if (info.NetworkType == NetworkType.LoHa) args["algo"] = "loha";
        return args;
    }

    /// <summary>
    /// A number as it reaches sd-scripts from the colab's TOML: whole numbers are ints ("8"), others floats
    /// ("0.5"). (The sd-scripts CLI would make every alpha a float, "8.0".)
    /// </summary>
    public static string ConfigNumber(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e15 ? ((long)value).ToString(CultureInfo.InvariantCulture) : PythonJson.Float(value);

    private static List<KeyValuePair<string, object?>> DatasetJson(KohyaDatasetInfo ds)
    {
        var subsets = ds.Subsets.Select(s =>
        {
            var d = new List<KeyValuePair<string, object?>>
            {
                new("img_count", s.ImgCount), new("num_repeats", s.NumRepeats), new("color_aug", s.ColorAug),
                new("flip_aug", s.FlipAug), new("random_crop", s.RandomCrop), new("shuffle_caption", s.ShuffleCaption),
                new("keep_tokens", s.KeepTokens), new("keep_tokens_separator", s.KeepTokensSeparator),
                new("secondary_separator", s.SecondarySeparator), new("enable_wildcard", s.EnableWildcard),
                new("caption_prefix", s.CaptionPrefix), new("caption_suffix", s.CaptionSuffix),
                new("image_dir", s.ImageDir), new("class_tokens", s.ClassTokens), new("is_reg", s.IsReg),
            };
            return (object?)d;
        }).ToList();
        object? bucketInfo = null;
        if (ds.Buckets is { } buckets)
        {
            var b = new List<KeyValuePair<string, object?>>();
            for (int i = 0; i < buckets.Count; i++)
                b.Add(new(i.ToString(CultureInfo.InvariantCulture), new List<KeyValuePair<string, object?>>
                {
                    new("resolution", new object?[] { buckets[i].Width, buckets[i].Height }), new("count", buckets[i].Count),
                }));
            bucketInfo = new List<KeyValuePair<string, object?>> { new("buckets", b), new("mean_img_ar_error", ds.MeanImgArError ?? 0.0) };
        }
        return new List<KeyValuePair<string, object?>>
        {
            new("is_dreambooth", true), new("batch_size_per_device", ds.BatchSizePerDevice),
            new("num_train_images", ds.NumTrainImages), new("num_reg_images", ds.NumRegImages),
            new("resolution", new object?[] { ds.ResolutionWidth, ds.ResolutionHeight }), new("enable_bucket", ds.EnableBucket),
            new("min_bucket_reso", ds.MinBucketReso), new("max_bucket_reso", ds.MaxBucketReso),
            new("tag_frequency", ds.TagFrequency.ToDictionary(kv => kv.Key, kv => (object?)kv.Value.ToDictionary(t => t.Key, t => (object?)t.Value))),
            new("bucket_info", bucketInfo), new("subsets", subsets),
        };
    }

    /// <summary>
    /// sd-scripts <c>precalculate_safetensors_hashes</c>: serialise the tensors with only the <c>ss_*</c>
    /// metadata, then hash that in-memory file (so user-editable keys do not change the hash).
    /// </summary>
    public static (string ModelHash, string LegacyHash) PrecalculateHashes(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var ssOnly = metadata.Where(kv => kv.Key.StartsWith("ss_", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        using var ms = new MemoryStream();
        SafetensorsWriter.Write(ms, tensors, ssOnly);
        var bytes = ms.GetBuffer().AsSpan(0, (int)ms.Length);
        return (AddnetHashSafetensors(bytes), AddnetHashLegacy(bytes));
    }

    /// <summary>SHA-256 (hex) of everything after the 8-byte length and the header.</summary>
    public static string AddnetHashSafetensors(ReadOnlySpan<byte> file)
    {
        long n = BitConverter.ToInt64(file[..8]);
        var data = file[(int)Math.Min(file.Length, n + 8)..];
        return Convert.ToHexStringLower(SHA256.HashData(data));
    }

    /// <summary>First 8 hex of SHA-256 of the 64 KiB at offset 0x100000 (fewer, or none, in a short file).</summary>
    public static string AddnetHashLegacy(ReadOnlySpan<byte> file)
    {
        int start = Math.Min(file.Length, 0x100000);
        int length = Math.Min(0x10000, file.Length - start);
        return Convert.ToHexStringLower(SHA256.HashData(file.Slice(start, length)))[..8];
    }

    /// <summary>Writes a LoRA file as sd-scripts' <c>save_weights</c> does: hashes added to the metadata, atomic write.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var (model, legacy) = PrecalculateHashes(tensors, metadata);
        var withHashes = new Dictionary<string, string>(metadata) { ["sshs_model_hash"] = model, ["sshs_legacy_hash"] = legacy };
        SafetensorsWriter.Save(path, tensors, withHashes);
    }
}
