using System.Text.Json;
using LoraBake.Models.Checkpoints;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// Everything an epoch hands to the next, stored in the epoch's entry: the network in fp32, the optimizer's
/// state tensors and scalars, the global step, and the loss log so far. Randomness needs no saving: every
/// draw of an epoch comes from generators keyed by (seed, epoch), so re-running an epoch repeats it exactly.
/// </summary>
public sealed record TrainingState(int Epoch, int GlobalStep)
{
    public const string NetworkFile = "network.safetensors";
    public const string OptimizerTensorsFile = "optimizer.safetensors";
    public const string OptimizerJsonFile = "optimizer.json";
    public const string StateFile = "state.json";
    public const string LossFile = "loss.csv";

    public static void Save(string dir, TrainingState state, IReadOnlyDictionary<string, Tensor> network,
        (Dictionary<string, Tensor> Tensors, string Json) optimizer, string lossCsv)
    {
        SafetensorsWriter.Save(Path.Combine(dir, NetworkFile), network);
        SafetensorsWriter.Save(Path.Combine(dir, OptimizerTensorsFile), optimizer.Tensors);
        File.WriteAllText(Path.Combine(dir, OptimizerJsonFile), optimizer.Json);
        File.WriteAllText(Path.Combine(dir, StateFile), JsonSerializer.Serialize(new { epoch = state.Epoch, global_step = state.GlobalStep }) + "\n");
        File.WriteAllText(Path.Combine(dir, LossFile), lossCsv);
    }

    public static TrainingState Read(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, StateFile)));
        return new TrainingState(doc.RootElement.GetProperty("epoch").GetInt32(), doc.RootElement.GetProperty("global_step").GetInt32());
    }

    public static Dictionary<string, Tensor> ReadNetwork(string dir) => SafetensorsFile.Open(Path.Combine(dir, NetworkFile)).Load();

    public static (Dictionary<string, Tensor> Tensors, string Json) ReadOptimizer(string dir) =>
        (SafetensorsFile.Open(Path.Combine(dir, OptimizerTensorsFile)).Load(), File.ReadAllText(Path.Combine(dir, OptimizerJsonFile)));

    public static string ReadLoss(string dir) => File.ReadAllText(Path.Combine(dir, LossFile));
}
