using System.Text.Json;
using LoraBake.Cli.Commands;
using LoraBake.Models.Checkpoints;
using LoraBake.Runtime;
using Spectre.Console.Cli;

namespace LoraBake.Tests.Models.Checkpoints;

public class InspectTests
{
    [Fact]
    public void An_sd1_checkpoint_is_reported_with_component_parameter_counts()
    {
        var path = GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors");
        var r = WeightsInspector.Inspect(path);
        Assert.Equal(ModelFamily.Sd1, r.Family);
        Assert.Equal("safetensors", r.Format);
        var c = r.Checkpoint!;
        // Count from the diffusers component files, which are the same weights under other names.
        long Count(string component, string file) => SafetensorsFile.Open(GoldensFolder.File("tiny_a", "diffusers", component, file)).Entries.Sum(e => e.NumElements);
        Assert.Equal(Count("unet", "diffusion_pytorch_model.safetensors"), c.UnetParameters);
        Assert.Equal(Count("vae", "diffusion_pytorch_model.safetensors"), c.VaeParameters);
        Assert.Equal(Count("text_encoder", "model.safetensors"), c.TextEncoderParameters);
        Assert.Equal(0, c.OtherKeys);
        Assert.Equal(600, r.TensorCount);
        Assert.Equal("F32", c.UnetDType);
        Assert.Null(r.Network);
    }

    [Theory]
    [InlineData("lora", ModelFamily.Lora)]
    [InlineData("locon", ModelFamily.LoCon)]
    [InlineData("loha", ModelFamily.LoHa)]
    public void Network_files_are_summarised_like_their_module_lists(string name, ModelFamily family)
    {
        var r = WeightsInspector.Inspect(GoldensFolder.File("tiny_a", "goldens", "lora", name + ".safetensors"));
        Assert.Equal(family, r.Family);
        using var doc = JsonDocument.Parse(File.ReadAllText(GoldensFolder.File("tiny_a", "goldens", "lora", name + "_modules.json")));
        var modules = doc.RootElement.EnumerateArray().ToList();
        var n = r.Network!;
        Assert.Equal(modules.Count, n.Modules);
        Assert.Equal(modules.Count(m => m.GetProperty("root").GetString() == "lora_te"), n.TextEncoderModules);
        Assert.Equal(modules.Count(m => m.GetProperty("root").GetString() == "lora_unet"), n.UnetModules);
        Assert.Equal(modules.Count(m => m.GetProperty("kind").GetString() == "conv"), n.ConvModules);
        Assert.Equal(modules.Select(m => m.GetProperty("rank").GetInt64()).Distinct().Order(), n.Dims);
        Assert.Equal(modules.Select(m => m.GetProperty("alpha").GetDouble()).Distinct().Order(), n.Alphas);
        Assert.Equal(r.Metadata["ss_network_module"], n.TrainingMetadata["ss_network_module"]);
        Assert.StartsWith("sd_v1", n.BaseModel);
        Assert.Null(r.Checkpoint);
    }

    [Fact]
    public void A_ckpt_is_inspected_through_the_restricted_unpickler()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var sd = SafetensorsFile.Open(GoldensFolder.File("tiny_a", "goldens", "lora", "lora.safetensors")).Load();
        var path = tmp.File("lora.ckpt");
        TorchSharp.PyBridge.PyTorchPickler.PickleStateDict(path, sd);
        var r = WeightsInspector.Inspect(path);
        Assert.Equal("ckpt", r.Format);
        Assert.Equal(ModelFamily.Lora, r.Family);
        Assert.Equal(90, r.Network!.Modules);
        Assert.Equal(new[] { 1.0, 2.0 }, r.Network.Alphas);
        foreach (var t in sd.Values) t.Dispose();
    }

    [Fact]
    public void Unknown_files_say_so_and_missing_files_are_user_errors()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var path = tmp.File("x.safetensors");
        using var t = TorchSharp.torch.zeros(3);
        SafetensorsWriter.Save(path, new Dictionary<string, TorchSharp.torch.Tensor> { ["something.else"] = t });
        Assert.Equal(ModelFamily.Unknown, WeightsInspector.Inspect(path).Family);
        Assert.Throws<UserError>(() => WeightsInspector.Inspect(tmp.File("missing.ckpt")));
    }

    [Fact]
    public void The_cli_prints_json()
    {
        var app = new CommandApp();
        app.Configure(c => { c.PropagateExceptions(); c.AddCommand<InspectCommand>("inspect"); });
        var old = Console.Out;
        var sw = new StringWriter();
        int rc;
        try
        {
            Console.SetOut(sw);
            rc = app.Run(new[] { "inspect", GoldensFolder.File("tiny_a", "goldens", "lora", "loha.safetensors"), "--json" });
        }
        finally { Console.SetOut(old); }
        Assert.Equal(0, rc);
        using var doc = JsonDocument.Parse(sw.ToString());
        Assert.Equal("loha", doc.RootElement.GetProperty("family").GetString());
        Assert.Equal(135, doc.RootElement.GetProperty("network").GetProperty("modules").GetInt32());
        Assert.Equal("lycoris.kohya", doc.RootElement.GetProperty("metadata").GetProperty("ss_network_module").GetString());
    }

    [Fact]
    public void A_file_that_starts_like_a_zip_but_is_not_one_is_a_user_error_naming_it()
    {
        using var dir = new TempFolder("lorabake-fakezip-");
        var path = dir.File("fake.ckpt");
        File.WriteAllBytes(path, [0x50, 0x4b, 0x03, 0x04, .. new byte[300]]);
        var e = Assert.Throws<LoraBake.Runtime.UserError>(() => WeightsInspector.Inspect(path));
        Assert.StartsWith(path + ": starts like a zip-format PyTorch checkpoint but is not a valid one", e.Message);
    }
}
