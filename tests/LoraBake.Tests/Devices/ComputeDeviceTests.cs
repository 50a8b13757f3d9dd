using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;
using LoraBake.Tests.Training;
using TorchSharp;

namespace LoraBake.Tests.Devices;

/// <summary>training.device and --device: the values, the override, the errors, and what the fingerprints record.</summary>
public class ComputeDeviceTests
{
    [Theory]
    [InlineData("auto")]
    [InlineData("cpu")]
    [InlineData("cuda")]
    [InlineData("cuda:1")]
    [InlineData(" CUDA:0 ")]
    public void Devices_the_setting_accepts(string value) => Assert.Null(ComputeDevice.Problem(value));

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    [InlineData("mps")]
    [InlineData("")]
    public void Other_values_are_refused_with_the_allowed_ones(string value) =>
        Assert.Contains(ComputeDevice.AllowedValues, ComputeDevice.Problem(value));

    [Fact]
    public void Auto_is_cuda_0_when_CUDA_is_available_else_cpu()
    {
        Assert.Equal(torch.cuda.is_available() ? "cuda:0" : "cpu", ComputeDevice.Resolve("auto"));
        Assert.Equal("cuda:0", ComputeDevice.Resolve("cuda"));
        Assert.Equal("cuda:2", ComputeDevice.Resolve("CUDA:2"));
        Assert.Equal(DeviceType.CPU, ComputeDevice.Select("cpu", "training.device").type);
    }

    [SkippableFact]
    public void Cuda_without_CUDA_is_a_user_error_naming_the_setting_and_the_CUDA_backend()
    {
        Skip.If(torch.cuda.is_available(), "this build sees a CUDA device");
        var error = Assert.Throws<UserError>(() => ComputeDevice.Select("cuda:1", "training.device (or --device)"));
        Assert.StartsWith("training.device (or --device): cuda:1", error.Message);
        Assert.Contains("TorchBackend=cuda", error.Message);
        Assert.Contains("src/TorchBackend.props", error.Message);
        Assert.Contains("auto or cpu", error.Message);
        Assert.Equal(DeviceType.CPU, ComputeDevice.Select("auto", "training.device").type);
    }

    [Fact]
    public void A_value_that_is_no_device_is_a_user_error_naming_the_flag()
    {
        var error = Assert.Throws<UserError>(() => ComputeDevice.Select("gpu", "--device"));
        Assert.StartsWith("--device: 'gpu' is not a device", error.Message);
    }

    [Fact]
    public void Only_a_GPU_joins_the_fingerprint()
    {
        Assert.Null(ComputeDevice.FingerprintComponent("cpu"));
        Assert.Equal(torch.cuda.is_available() ? "cuda" : null, ComputeDevice.FingerprintComponent("auto"));
        Assert.Equal("cuda", ComputeDevice.FingerprintComponent("cuda:1"));
        Assert.Equal("cuda", ComputeDevice.FingerprintComponent("cuda"));
    }

    [Fact]
    public void The_flag_overrides_the_recipe_and_a_bad_flag_is_refused()
    {
        var recipe = new Recipe { Training = new TrainingSettings { Device = "cpu" } };
        Assert.Same(recipe, DeviceOverride.Apply(recipe, null));
        Assert.Equal("cuda:1", DeviceOverride.Apply(recipe, "CUDA:1").Training.Device);
        var error = Assert.Throws<UserError>(() => DeviceOverride.Apply(recipe, "tpu"));
        Assert.StartsWith("--device: 'tpu'", error.Message);
    }

    [Fact]
    public void The_recipe_setting_is_checked_and_normalised_where_it_is_written()
    {
        using var good = new TrainProject("  device: CUDA:1");
        Assert.Equal("cuda:1", good.Recipe.Training.Device);

        using var bad = new TrainProject("  device: gpu");
        var result = RecipeLoader.Load(bad.Layout, TrainProject.Name);
        Assert.False(result.Success);
        var message = result.FormatErrors();
        Assert.Contains("training.device", message);
        Assert.Contains(ComputeDevice.AllowedValues, message);
        Assert.Contains("project.yaml:", message);
    }

    [Fact]
    public void Cpu_and_auto_on_a_CPU_keep_every_fingerprint_and_a_GPU_changes_the_epochs_and_the_evaluation()
    {
        Dictionary<string, string> Fingerprints(string extra)
        {
            using var project = new TrainProject(extra);
            var plan = new Planner(project.Layout, new ArtifactStore(project.Layout.StoreDir), LoraBake.Cli.PipelineStages.CreateCatalog())
                .Build(TrainProject.Name, project.Recipe);
            return plan.Stages.ToDictionary(s => s.Name, s => s.Fingerprint?.Hash ?? "none");
        }

        var unset = Fingerprints("");
        Assert.Equal(unset, Fingerprints("  device: cpu"));
        if (!torch.cuda.is_available()) Assert.Equal(unset, Fingerprints("  device: auto"));
        var cuda = Fingerprints("  device: cuda");
        Assert.Equal(unset["Download"], cuda["Download"]);
        Assert.Equal(unset["Process"], cuda["Process"]);
        Assert.NotEqual(unset["Train-Epoch-01"], cuda["Train-Epoch-01"]);
        Assert.NotEqual(unset["Evaluate"], cuda["Evaluate"]);
    }

    [SkippableFact, Trait("Category", "E2E")]
    public void A_stage_asked_to_train_on_CUDA_without_CUDA_stops_before_training()
    {
        Skip.If(torch.cuda.is_available(), "this build sees a CUDA device");
        using var project = new TrainProject("  device: cuda");
        project.Run("Download");
        project.Run("Process");
        var error = Assert.Throws<UserError>(() => project.Run("Train-Epoch-01"));
        Assert.Contains("training.device (or --device): cuda", error.Message);
        Assert.Contains("TorchBackend=cuda", error.Message);
    }
}
