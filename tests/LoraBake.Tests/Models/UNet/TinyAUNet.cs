using System.Text.Json;
using LoraBake.Models.UNet;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.UNet;

/// <summary>tiny_a's diffusers UNet: config inferred from the weight shapes, head count from config.json.</summary>
internal static class TinyAUNet
{
    public static string WeightsPath => GoldensFolder.File("tiny_a", "diffusers", "unet", "diffusion_pytorch_model.safetensors");

    public static JsonElement NeutralConfig =>
        JsonDocument.Parse(File.ReadAllText(GoldensFolder.File("tiny_a", "config.json"))).RootElement.GetProperty("unet");

    public static Dictionary<string, Tensor> LoadWeights() => Safetensors.LoadStateDict(WeightsPath);

    public static UNetConfig InferConfig(Dictionary<string, Tensor> weights)
    {
        var json = NeutralConfig;
        return UNetConfig.Infer(UNetConfig.ShapesOf(weights), json.GetProperty("num_heads").GetInt32(),
            json.GetProperty("norm_num_groups").GetInt32(), json.GetProperty("norm_eps").GetDouble());
    }

    public static UNet2DConditionModel Load(ScalarType? dtype = null)
    {
        var weights = LoadWeights();
        try
        {
            var json = NeutralConfig;
            var model = UNet2DConditionModel.FromDiffusersStateDict(weights, json.GetProperty("num_heads").GetInt32(),
                json.GetProperty("norm_num_groups").GetInt32(), json.GetProperty("norm_eps").GetDouble(), dtype: dtype,
                source: WeightsPath);
            model.eval();
            return model;
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    public static Dictionary<string, Tensor> LoadGolden() => Safetensors.LoadStateDict(GoldensFolder.File("tiny_a", "goldens", "unet.safetensors"));
}
