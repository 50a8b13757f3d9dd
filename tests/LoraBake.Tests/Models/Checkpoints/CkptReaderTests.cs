using System.IO.Compression;
using System.Text;
using LoraBake.Models.Checkpoints;
using LoraBake.Runtime;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.Checkpoints;

public class CkptReaderTests
{
    [Fact]
    public void Reads_a_state_dict_saved_in_pytorch_format_by_pybridge()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var path = tmp.File("m.ckpt");
        var g = new Generator(3);
        using var model = nn.Sequential(("lin", nn.Linear(4, 3)), ("conv", nn.Conv2d(2, 5, 3)));
        model.save_py(path);
        var expected = model.state_dict();

        var loaded = CkptReader.Load(path);
        Assert.Equal(expected.Keys.OrderBy(k => k), loaded.Keys.OrderBy(k => k));
        foreach (var (k, t) in expected)
        {
            Assert.Equal(t.shape, loaded[k].shape);
            Assert.True(t.eq(loaded[k]).all().item<bool>(), k);
        }
        var half = CkptReader.Load(path, ScalarType.Float16);
        Assert.Equal(ScalarType.Float16, half["lin.weight"].dtype);
    }

    [Fact]
    public void Unwraps_a_lightning_style_nested_state_dict()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var flat = tmp.File("flat.ckpt");
        using var lin = nn.Linear(3, 2);
        lin.save_py(flat);
        // Wrap PyBridge's pickle as {"global_step": 5, "state_dict": <its OrderedDict>} the way Lightning saves.
        var (name, pkl, storages) = ReadZip(flat);
        Assert.Equal(0x80, pkl[0]);
        Assert.Equal((byte)'.', pkl[^1]);
        var outer = new List<byte> { 0x80, 2, (byte)'}' };
        outer.AddRange(BinUnicode("global_step")); outer.AddRange(new byte[] { (byte)'K', 5, (byte)'s' });
        outer.AddRange(BinUnicode("state_dict")); outer.AddRange(pkl[2..^1]); outer.Add((byte)'s');
        outer.Add((byte)'.');
        var nested = tmp.File("nested.ckpt");
        WriteZip(nested, name, outer.ToArray(), storages);

        var loaded = CkptReader.Load(nested);
        Assert.Equal(new[] { "bias", "weight" }, loaded.Keys.OrderBy(k => k));
        Assert.True(lin.weight!.eq(loaded["weight"]).all().item<bool>());
    }

    [Fact]
    public void A_pickle_that_asks_for_os_system_is_refused_and_nothing_runs()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var marker = tmp.File("pwned");
        // cos\nsystem\n ; ("touch MARKER",) ; REDUCE ; STOP  — what a malicious __reduce__ pickles to.
        var pkl = new List<byte> { 0x80, 2 };
        pkl.AddRange(Encoding.ASCII.GetBytes("cos\nsystem\n"));
        pkl.AddRange(BinUnicode("touch " + marker));
        pkl.AddRange(new byte[] { 0x85, (byte)'R', (byte)'.' });
        var path = tmp.File("evil.ckpt");
        WriteZip(path, "archive", pkl.ToArray(), new());

        var e = Assert.Throws<UserError>(() => CkptReader.Load(path));
        Assert.Contains("os.system", e.Message);
        Assert.Contains(path, e.Message);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void Stack_global_builtins_eval_is_refused_too()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var pkl = new List<byte> { 0x80, 4 };
        pkl.AddRange(ShortUnicode("builtins")); pkl.AddRange(ShortUnicode("eval")); pkl.Add(0x93);
        pkl.AddRange(ShortUnicode("1+1")); pkl.AddRange(new byte[] { 0x85, (byte)'R', (byte)'.' });
        var path = tmp.File("evil2.ckpt");
        WriteZip(path, "archive", pkl.ToArray(), new());
        var e = Assert.Throws<UserError>(() => CkptReader.Load(path));
        Assert.Contains("builtins.eval", e.Message);
    }

    [Fact]
    public void Protocol_0_inst_is_checked_like_global()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var pkl = new List<byte> { (byte)'(' };
        pkl.AddRange(BinUnicode("echo hi"));
        pkl.AddRange(Encoding.ASCII.GetBytes("ios\nsystem\n."));
        var path = tmp.File("evil3.ckpt");
        WriteZip(path, "archive", pkl.ToArray(), new());
        Assert.Contains("os.system", Assert.Throws<UserError>(() => CkptReader.Load(path)).Message);
    }

    [Fact]
    public void Lightning_callbacks_are_kept_as_inert_data_and_the_weights_load()
    {
        // {"callbacks": ModelCheckpoint() with state {"monitor": None}, "state_dict": <PyBridge's OrderedDict>}
        using var tmp = new TempFolder("lorabake-models-");
        var flat = tmp.File("flat.ckpt");
        using var lin = nn.Linear(3, 2);
        lin.save_py(flat);
        var (name, pkl, storages) = ReadZip(flat);
        var outer = new List<byte> { 0x80, 2, (byte)'}' };
        outer.AddRange(BinUnicode("callbacks"));
        outer.AddRange(Encoding.ASCII.GetBytes("cpytorch_lightning.callbacks.model_checkpoint\nModelCheckpoint\n"));
        outer.AddRange(new byte[] { (byte)')', 0x81, (byte)'}' });
        outer.AddRange(BinUnicode("monitor")); outer.AddRange(new byte[] { (byte)'N', (byte)'s', (byte)'b', (byte)'s' });
        outer.AddRange(BinUnicode("state_dict")); outer.AddRange(pkl[2..^1]); outer.Add((byte)'s');
        outer.Add((byte)'.');
        var path = tmp.File("lightning.ckpt");
        WriteZip(path, name, outer.ToArray(), storages);
        var loaded = CkptReader.Load(path);
        Assert.Equal(new[] { "bias", "weight" }, loaded.Keys.OrderBy(k => k));
    }

    [Fact]
    public void A_file_that_is_not_a_zip_checkpoint_is_a_user_error()
    {
        using var tmp = new TempFolder("lorabake-models-");
        var path = tmp.File("old.ckpt");
        File.WriteAllBytes(path, new byte[] { 0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19 });
        Assert.Throws<UserError>(() => CkptReader.Load(path));
    }

    static byte[] BinUnicode(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return new[] { (byte)'X' }.Concat(BitConverter.GetBytes(b.Length)).Concat(b).ToArray();
    }

    static byte[] ShortUnicode(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return new byte[] { 0x8c, (byte)b.Length }.Concat(b).ToArray();
    }

    static (string Name, byte[] Pkl, Dictionary<string, byte[]> Storages) ReadZip(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var pklEntry = zip.Entries.Single(e => e.FullName.EndsWith("data.pkl"));
        var name = pklEntry.FullName.Split('/')[0];
        byte[] Bytes(ZipArchiveEntry e) { using var s = e.Open(); using var ms = new MemoryStream(); s.CopyTo(ms); return ms.ToArray(); }
        var storages = zip.Entries.Where(e => e.FullName.StartsWith(name + "/data/")).ToDictionary(e => e.FullName[(name.Length + 6)..], Bytes);
        return (name, Bytes(pklEntry), storages);
    }

    static void WriteZip(string path, string name, byte[] pkl, Dictionary<string, byte[]> storages)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        void Add(string n, byte[] b) { using var s = zip.CreateEntry(n, CompressionLevel.NoCompression).Open(); s.Write(b); }
        Add($"{name}/data.pkl", pkl);
        foreach (var (k, b) in storages) Add($"{name}/data/{k}", b);
        Add($"{name}/version", Encoding.ASCII.GetBytes("3\n"));
    }
}
