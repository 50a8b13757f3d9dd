using LoraBake.Models;
using LoraBake.Models.Text;
using LoraBake.Networks;
using LoraBake.Recipes;
using LoraBake.Sampling;
using LoraBake.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Devices;

/// <summary>
/// The device plumbing, proven without a GPU: builtin:tiny-sd1 moved to the <c>meta</c> device runs a whole LoRA
/// training step (EpochTrainer.Step: noise, timesteps, forward, min-SNR loss, backward, clipping, AdamW or Lion; LoRA,
/// LoCon or LoHa) and a
/// whole render (Sd1Generator: prompts, the sampler loop with CFG, the VAE decode). A meta tensor meeting a tensor
/// on another device fails ("Expected all tensors to be on the same device"), so every tensor the trainer, the
/// sampler and the models create must follow the model's device. Meta computes shapes only: values are not checked.
/// </summary>
public sealed class MetaDeviceTests : IClassFixture<MetaDeviceTests.TinyModelFiles>
{
    public sealed class TinyModelFiles : IDisposable
    {
        readonly TempFolder _dir = new("lorabake-meta-");
        public TinyModelFiles() => TinySd1.Write(_dir);
        public string Checkpoint => Path.Combine(_dir, TinySd1.CheckpointFile);
        public Sd1Model Load(torch.Device device, ScalarType dtype = ScalarType.Float32) => Sd1Model.Load(Checkpoint,
            tokenizerDir: Path.Combine(_dir, TinySd1.TokenizerFolder), frozenDtype: dtype,
            sidecarPath: Path.ChangeExtension(Checkpoint, ".json"), device: device);
        public void Dispose() => _dir.Dispose();
    }

    static readonly torch.Device Meta = new(DeviceType.META);
    readonly TinyModelFiles _files;

    public MetaDeviceTests(TinyModelFiles files) => _files = files;

    [Theory]
    [InlineData(false, "AdamW", NetworkType.LoRA)]
    [InlineData(true, "AdamW", NetworkType.LoRA)]
    [InlineData(false, "Lion", NetworkType.LoRA)]
    [InlineData(false, "AdamW8bit", NetworkType.LoRA)]
    [InlineData(false, "AdamW", NetworkType.LoCon)]
    [InlineData(false, "AdamW", NetworkType.LoHa)]
    public void A_training_step_runs_on_the_meta_device(bool gradientCheckpointing, string optimizerName, NetworkType networkType)
    {
        using var model = _files.Load(Meta);
        Assert.Equal(DeviceType.META, model.Device.type);
        Assert.All(model.TextEncoder.parameters().Concat(model.Vae.parameters()), p => Assert.Equal(DeviceType.META, p.device_type));

        // Every branch that makes a tensor: text-encoder LoRA, min-SNR, noise offset, a regularization image's weight.
        var training = new TrainingSettings
        {
            TextEncoderLr = 1e-4, MinSnrGamma = 5, NoiseOffset = 0.1, PriorLossWeight = 0.5, Optimizer = optimizerName,
            GradientCheckpointing = gradientCheckpointing, MaxGradNorm = 1.0, ClipSkip = 2, MaxTokenLength = 75,
        };
        torch.manual_seed(training.Seed);
        using var network = LoraNetwork.Create(model.Unet, model.TextEncoder, networkType, 4, 2, 4, 2);
        var groups = network.ParamGroups(training.UnetLr, training.TextEncoderLr, training.UnetLr);
        using var optimizer = OptimizerFactory.Create(training.Optimizer, groups, new OptimizerArgs(training.OptimizerArgs));
        var parameters = groups.SelectMany(g => g.Params).ToList();
        Assert.All(parameters, p => Assert.Equal(DeviceType.META, p.device_type));

        model.Unet.train();
        model.TextEncoder.train();
        model.Unet.GradientCheckpointing = gradientCheckpointing;
        var trainer = new EpochTrainer(model, _ => { });
        var encoder = new PromptEncoder(model.Tokenizer, model.TextEncoder);
        using var generator = new Generator(7);
        // Cached latents come from the store on the CPU; the step moves them.
        var latents = randn([2, 4, 8, 8]);
        var batch = new EpochTrainer.StepBatch(latents, ["a cat", "a dog"], [false, true]);

        var result = trainer.Step(network, optimizer, parameters, encoder, batch, training, generator, scaler: null,
            (_, _, _) => new InvalidOperationException("no finiteness check can run on meta"));

        Assert.True(double.IsNaN(result.Loss));                       // meta has no values
        Assert.Equal(2, result.Timesteps.Length);
        Assert.All(parameters, p => Assert.Equal(DeviceType.META, p.device_type));
        network.Remove();
    }

    [Theory]
    [InlineData("euler", 7.0)]
    [InlineData("euler_a", 7.0)]
    [InlineData("dpmpp_2m_karras", 7.0)]
    [InlineData("ddim", 1.0)]
    public void A_render_runs_on_the_meta_device(string sampler, double cfg)
    {
        using var model = _files.Load(Meta);
        using var generator = new Sd1Generator(model);
        var request = new GenerateRequest("a (photo:1.2) of a cat", "blurry", 1234, 2, sampler, cfg, 64, 48, [], ClipSkip: 2);
        int steps = 0;

        using var decoded = generator.Render(request, [request.Seed], (_, _) => steps++).Single();

        Assert.Equal(DeviceType.META, decoded.device_type);
        Assert.Equal(new long[] { 1, 3, 48, 64 }, decoded.shape);
        Assert.Equal(2, steps);
    }

    [Fact]
    public void The_VAE_encodes_a_cached_latent_on_the_meta_device()
    {
        using var model = _files.Load(Meta);
        using var image = rand([1, 3, 64, 64]) * 2 - 1;
        using var posterior = model.Vae.Encode(image.to(model.Device));
        using var generator = new Generator(3);
        using var latent = posterior.Sample(generator);
        Assert.Equal(DeviceType.META, latent.device_type);
        Assert.Equal(new long[] { 1, 4, 8, 8 }, latent.shape);
    }
}
