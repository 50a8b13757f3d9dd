using System.Buffers.Binary;
using LoraBake.Pipeline;

namespace LoraBake.Download;

/// <summary>What a model file is, by its first bytes (never by its name).</summary>
public enum ModelFileType
{
    Unknown,
    /// <summary>8-byte little-endian header length, then a JSON header starting with '{'.</summary>
    Safetensors,
    /// <summary>torch.save's zip format (PyTorch ≥ 1.6 .ckpt/.pt): "PK\x03\x04".</summary>
    CkptZip,
    /// <summary>Legacy torch.save: a raw pickle stream starting with the PROTO opcode 0x80.</summary>
    CkptPickle,
    /// <summary>A folder of files (a built-in model generated locally).</summary>
    Directory,
}

public static class ModelFileTypes
{
    public static ModelFileType Detect(ReadOnlySpan<byte> head, long fileSize)
    {
        if (head.Length >= 9)
        {
            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(head);
            if (headerLength > 0 && headerLength <= (ulong)Math.Max(0, fileSize - 8) && head[8] == (byte)'{') return ModelFileType.Safetensors;
        }
        if (head.Length >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4) return ModelFileType.CkptZip;
        if (head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5) return ModelFileType.CkptPickle;
        return ModelFileType.Unknown;
    }

    public static ModelFileType Detect(string path)
    {
        Span<byte> head = stackalloc byte[16];
        using var f = File.OpenRead(path);
        var n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return Detect(head[..n], f.Length);
    }

    /// <summary>The name used in model.json: safetensors, ckpt-zip, ckpt-pickle, directory, unknown.</summary>
    public static string Name(this ModelFileType t) => t switch
    {
        ModelFileType.Safetensors => "safetensors",
        ModelFileType.CkptZip => "ckpt-zip",
        ModelFileType.CkptPickle => "ckpt-pickle",
        ModelFileType.Directory => "directory",
        _ => "unknown",
    };

    /// <summary>A short description of what an unusable file looks like, for error messages.</summary>
    public static string Describe(string path)
    {
        var head = new byte[64];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var text = System.Text.Encoding.ASCII.GetString(head, 0, n).TrimStart();
        if (text.StartsWith('<')) return "an HTML page (often a login or error page instead of the file)";
        if (text.StartsWith('{')) return "a JSON document (often an API error message)";
        return $"unrecognised data starting with {Convert.ToHexString(head, 0, Math.Min(n, 8))}";
    }
}
