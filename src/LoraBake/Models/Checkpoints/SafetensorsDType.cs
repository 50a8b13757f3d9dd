using LoraBake.Runtime;
using TorchSharp;

namespace LoraBake.Models.Checkpoints;

/// <summary>The safetensors dtype names ("F32", "BF16"...) and their TorchSharp scalar types.</summary>
public static class SafetensorsDType
{
    static readonly (string Name, torch.ScalarType Type, int Size)[] Table =
    {
        ("F64", torch.ScalarType.Float64, 8),
        ("F32", torch.ScalarType.Float32, 4),
        ("F16", torch.ScalarType.Float16, 2),
        ("BF16", torch.ScalarType.BFloat16, 2),
        ("I64", torch.ScalarType.Int64, 8),
        ("I32", torch.ScalarType.Int32, 4),
        ("I16", torch.ScalarType.Int16, 2),
        ("I8", torch.ScalarType.Int8, 1),
        ("U8", torch.ScalarType.Byte, 1),
        ("BOOL", torch.ScalarType.Bool, 1),
    };

    /// <summary>Bytes per element of a safetensors dtype name; 0 when unknown (e.g. F8_E4M3, which TorchSharp lacks).</summary>
    public static int SizeOf(string name)
    {
        foreach (var e in Table) if (e.Name == name) return e.Size;
        return 0;
    }

    public static bool TryToScalarType(string name, out torch.ScalarType type)
    {
        foreach (var e in Table)
            if (e.Name == name) { type = e.Type; return true; }
        type = default;
        return false;
    }

    public static torch.ScalarType ToScalarType(string name, string file, string key) =>
        TryToScalarType(name, out var t) ? t
            : throw new UserError($"{file}: tensor '{key}' has dtype {name}, which LoraBake cannot load " +
                                  "(supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL). Convert the file to fp16 or fp32 first.");

    public static string FromScalarType(torch.ScalarType type)
    {
        foreach (var e in Table) if (e.Type == type) return e.Name;
        throw new ArgumentException($"safetensors has no dtype for {type}");
    }
}
