using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using LoraBake.Runtime;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>A Python object that the pickle named but that LoraBake only records as data (never runs).</summary>
public sealed record InertPyObject(string Module, string Name, object?[] Args);

/// <summary>
/// A pickle virtual machine for PyTorch state dicts that never calls anything: it knows the opcodes `torch.save`
/// emits, builds dicts, lists and tuples itself, rebuilds tensors through <paramref name="loadStorage"/>, and
/// refuses (<see cref="UserError"/>) as soon as the pickle names a global outside a fixed allow-list — the
/// moment Python's own unpickler would import it. This is the same policy as torch.load(weights_only=True) and
/// AUTOMATIC1111's safe unpickler; the few non-tensor classes allowed (numpy scalars, Lightning's
/// ModelCheckpoint, found in real SD 1.x .ckpt files) become inert <see cref="InertPyObject"/> records.
/// </summary>
sealed class RestrictedUnpickler
{
    /// <summary>Storage dtype marker for `torch.FloatStorage` and friends.</summary>
    sealed record StorageType(ScalarType DType);
    sealed record Callable(string Module, string Name);
    sealed class Mark { public static readonly Mark Instance = new(); }

    static readonly Dictionary<string, ScalarType> Storages = new()
    {
        ["DoubleStorage"] = ScalarType.Float64, ["FloatStorage"] = ScalarType.Float32, ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16, ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16, ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    static readonly HashSet<string> Allowed = new()
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        "builtins.set", "__builtin__.set",
        "_codecs.encode",
        "numpy.core.multiarray.scalar", "numpy.core.multiarray._reconstruct", "numpy.dtype", "numpy.ndarray",
        "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint",
    };

    readonly string _file;
    readonly Func<string, ScalarType, long, Tensor> _loadStorage;
    readonly Stream _s;
    readonly List<object?> _stack = new();
    readonly List<int> _marks = new();
    readonly Dictionary<long, object?> _memo = new();

    /// <param name="file">Shown in errors.</param>
    /// <param name="pickle">The data.pkl stream.</param>
    /// <param name="loadStorage">(archive key, dtype, element count) → 1-D tensor holding that storage.</param>
    public RestrictedUnpickler(string file, Stream pickle, Func<string, ScalarType, long, Tensor> loadStorage)
    {
        _file = file;
        _s = pickle;
        _loadStorage = loadStorage;
    }

    public object? Load()
    {
        while (true)
        {
            int op = _s.ReadByte();
            if (op < 0) throw Bad("the pickle ends before its STOP opcode");
            switch (op)
            {
                case 0x80: ReadBytes(1); break;                         // PROTO
                case 0x95: ReadBytes(8); break;                         // FRAME
                case '.': return Pop();                                 // STOP
                case '(': _marks.Add(_stack.Count); break;              // MARK
                case '}': Push(new Dictionary<object, object?>()); break;
                case ']': Push(new List<object?>()); break;
                case ')': Push(Array.Empty<object?>()); break;
                case 0x8f: Push(new List<object?>()); break;            // EMPTY_SET
                case 'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case 'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break;
                case 'K': Push((long)ReadBytes(1)[0]); break;
                case 'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break;
                case 0x8a: Push(ReadLong(ReadBytes(1)[0])); break;      // LONG1
                case 0x8b: Push(ReadLong(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)))); break;
                case 'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break;
                case 'X': Push(Encoding.UTF8.GetString(ReadBytes(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))))); break;
                case 0x8c: Push(Encoding.UTF8.GetString(ReadBytes(ReadBytes(1)[0]))); break;
                case 0x8d: Push(Encoding.UTF8.GetString(ReadBytes(checked((int)BinaryPrimitives.ReadInt64LittleEndian(ReadBytes(8)))))); break;
                case 'T': Push(Encoding.Latin1.GetString(ReadBytes(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))))); break;
                case 'U': Push(Encoding.Latin1.GetString(ReadBytes(ReadBytes(1)[0]))); break;
                case 'B': Push(ReadBytes(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)))); break;
                case 'C': Push(ReadBytes(ReadBytes(1)[0])); break;
                case 't': Push(PopMark().ToArray()); break;
                case 0x85: { var a = Pop(); Push(new[] { a }); break; }
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                case 'q': _memo[ReadBytes(1)[0]] = Peek(); break;       // BINPUT
                case 'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = Peek(); break;
                case 0x94: _memo[_memo.Count] = Peek(); break;          // MEMOIZE
                case 'h': Push(Memo(ReadBytes(1)[0])); break;           // BINGET
                case 'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break;
                case 'c': Push(Global(ReadLine(), ReadLine())); break;  // GLOBAL
                case 'i': { var g = Global(ReadLine(), ReadLine()); Push(Call(g, PopMark().ToArray())); break; } // INST (protocol 0)
                case 0x93: { var name = Pop() as string; var module = Pop() as string; Push(Global(module ?? "?", name ?? "?")); break; }
                case 'Q': Push(PersistentLoad(Pop())); break;           // BINPERSID
                case 'R': { var args = Pop() as object?[] ?? throw Bad("REDUCE without an argument tuple"); Push(Call(Pop(), args)); break; }
                case 0x81: { var args = Pop() as object?[] ?? throw Bad("NEWOBJ without an argument tuple"); Push(Call(Pop(), args)); break; }
                case 's': { var v = Pop(); var k = Pop(); SetItem(Peek(), k, v); break; }
                case 'u': { var items = PopMark(); var d = Peek(); for (int i = 0; i + 1 < items.Count; i += 2) SetItem(d, items[i], items[i + 1]); break; }
                case 'a': { var v = Pop(); (Peek() as List<object?> ?? throw Bad("APPEND to a non-list")).Add(v); break; }
                case 'e': case 0x90: { var items = PopMark(); (Peek() as List<object?> ?? throw Bad("APPENDS to a non-list")).AddRange(items); break; }
                case 'b': Build(Pop(), Peek()); break;                  // BUILD
                case '0': Pop(); break;                                 // POP
                case '1': PopMark(); break;                             // POP_MARK
                case '2': Push(Peek()); break;                          // DUP
                default:
                    throw new UserError($"{_file}: the pickle uses opcode 0x{op:x2} ('{(char)op}'), which a PyTorch state dict never needs " +
                                        "(object construction or extension opcodes are refused). Convert the checkpoint to .safetensors with a trusted tool.");
            }
        }
    }

    object Global(string module, string name)
    {
        var full = $"{module}.{name}";
        if (module == "torch" && Storages.TryGetValue(name, out var dt)) return new StorageType(dt);
        if (!Allowed.Contains(full))
            throw new UserError($"{_file}: refused to load: its pickle asks for the Python global '{full}', which is not part of a " +
                                "PyTorch state dict. A .ckpt can run code when loaded in Python; this one may be malicious. Nothing was executed. " +
                                "Use a .safetensors version of this model instead.");
        return new Callable(module, name);
    }

    object? Call(object? callable, object?[] args)
    {
        if (callable is not Callable c) throw Bad("REDUCE on something that is not an allowed global");
        switch ($"{c.Module}.{c.Name}")
        {
            case "collections.OrderedDict": return new Dictionary<object, object?>();
            case "torch._utils._rebuild_tensor":
            case "torch._utils._rebuild_tensor_v2": return RebuildTensor(args);
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state": return args.Length > 0 ? args[0] : null;
            case "builtins.set":
            case "__builtin__.set": return args.Length > 0 && args[0] is List<object?> l ? l : new List<object?>();
            case "_codecs.encode": return args.Length > 0 && args[0] is string s ? Encoding.Latin1.GetBytes(s) : null;
            default: return new InertPyObject(c.Module, c.Name, args);
        }
    }

    Tensor RebuildTensor(object?[] args)
    {
        if (args.Length < 4 || args[0] is not Tensor storage) throw Bad("_rebuild_tensor without a storage");
        var offset = ToLong(args[1]);
        var size = ((object?[])args[2]!).Select(ToLong).ToArray();
        var stride = ((object?[])args[3]!).Select(ToLong).ToArray();
        var numel = size.Aggregate(1L, (a, b) => a * b);
        var contiguous = true;
        for (long i = size.Length - 1, expect = 1; i >= 0; expect *= size[i], i--)
            if (size[i] != 1 && stride[i] != expect) contiguous = false;
        // A tensor that is its whole storage shares it; anything else (a slice, a tied weight) gets its own copy.
        if (offset == 0 && contiguous && numel == storage.numel()) return storage.view(size);
        if (offset + numel > storage.numel() && numel > 0 && contiguous) throw Bad("a tensor extends past its storage");
        using var view = storage.as_strided(size, stride, offset);
        return view.contiguous().clone();
    }

    readonly Dictionary<string, Tensor> _storages = new();

    /// <summary>Releases the unpickler's handles on the storages; tensors made from them keep their memory alive,
    /// so memory of tensors later disposed or converted is freed at once instead of at garbage collection.</summary>
    public void ReleaseStorages()
    {
        foreach (var t in _storages.Values) t.Dispose();
        _storages.Clear();
    }

    Tensor PersistentLoad(object? pid)
    {
        if (pid is not object?[] { Length: >= 5 } t || t[0] as string != "storage" || t[1] is not StorageType st || t[2] is not string key)
            throw Bad("a persistent id that is not a PyTorch storage");
        if (!_storages.TryGetValue(key, out var storage))
            _storages[key] = storage = _loadStorage(key, st.DType, ToLong(t[4]));
        return storage;
    }

    static void Build(object? state, object? target)
    {
        // Only inert records receive state; tensors and dicts from allowed globals never need BUILD's setattr.
        if (target is Dictionary<object, object?> d && state is Dictionary<object, object?> s)
            foreach (var kv in s) d[kv.Key] = kv.Value;
    }

    void SetItem(object? dict, object? key, object? value)
    {
        if (dict is not Dictionary<object, object?> d) throw Bad("SETITEM on something that is not a dict");
        d[key ?? "None"] = value;
    }

    static long ToLong(object? o) => o switch
    {
        long l => l,
        int i => i,
        BigInteger b => (long)b,
        _ => throw new InvalidDataException($"expected an integer, got {o?.GetType().Name ?? "None"}"),
    };

    object ReadLong(int n)
    {
        var b = ReadBytes(n);
        var v = new BigInteger(b, isUnsigned: false, isBigEndian: false);
        return v >= long.MinValue && v <= long.MaxValue ? (long)v : v;
    }

    byte[] ReadBytes(int n)
    {
        if (n < 0) throw Bad("a negative length");
        var b = new byte[n];
        try { _s.ReadExactly(b); }
        catch (EndOfStreamException) { throw Bad("the pickle is truncated"); }
        return b;
    }

    string ReadLine()
    {
        var sb = new StringBuilder();
        int c;
        while ((c = _s.ReadByte()) >= 0 && c != '\n') sb.Append((char)c);
        return sb.ToString();
    }

    object? Memo(long i) => _memo.TryGetValue(i, out var v) ? v : throw Bad($"memo {i} read before it was written");
    void Push(object? o) => _stack.Add(o);
    object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Bad("stack underflow");
    object? Pop()
    {
        var o = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return o;
    }

    List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Bad("a MARK is missing");
        var m = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(m, _stack.Count - m);
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    UserError Bad(string what) => new($"{_file}: the checkpoint's pickle is malformed ({what}). The file may be corrupt or not a PyTorch checkpoint.");
}
