using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Download;

/// <summary>
/// The Download stage: puts the base model (model.source) and the optional VAE (model.vae) into the store and
/// records them in model.json / vae.json. Sources: a preset name, an http(s) URL, a local file, or
/// builtin:NAME. The fingerprint covers the source fields, the URL they resolve to, the content hash of a
/// local file and a built-in generator's version — never times — so setting model.sha256 makes it stale.
/// </summary>
public sealed class DownloadStage : IStage
{
    public string Name => StageCatalog.Download;
    public int SchemaVersion => 3;
    public IReadOnlyList<string> DependsOn => [];

    public Fingerprint ComputeFingerprint(StageContext context)
    {
        var m = context.Recipe.Model;
        var fp = new FingerprintBuilder(Name, SchemaVersion)
            .AddCanonicalJson("model", RecipeCanonical.Json(new { m.Source, m.Sha256, m.Vae, m.VaeSha256 }));
        AddResolved(fp, "model", Resolve(context, m.Source, m.Sha256, "model.source", presets: true), m.Sha256, context);
        if (m.Vae != null) AddResolved(fp, "vae", Resolve(context, m.Vae, m.VaeSha256, "model.vae", presets: false), m.VaeSha256, context);
        if (NeedsTokenizer(context)) fp.Add("input:tokenizer", string.Join(" ", ClipTokenizerFiles.Files.Select(f => f.Url)));
        return fp.Build();
    }

    public void Run(StageContext context, EntryWriter output)
    {
        var m = context.Recipe.Model;
        Fetch(context, output, "model", Resolve(context, m.Source, m.Sha256, "model.source", presets: true), m.Source);
        if (m.Vae != null) Fetch(context, output, "vae", Resolve(context, m.Vae, m.VaeSha256, "model.vae", presets: false), m.Vae);
        if (NeedsTokenizer(context)) ClipTokenizerFiles.Fetch(context, output);
    }

    /// <summary>
    /// A local checkpoint's companions travel with it into the entry: its sidecar (NAME.json: head counts and norm
    /// groups that shapes cannot tell) as model.sidecar.json, and a tokenizer/ folder beside it.
    /// </summary>
    private static void CopyCompanions(string checkpoint, string entryDir, StageContext c)
    {
        var sidecar = Path.ChangeExtension(checkpoint, ".json");
        if (File.Exists(sidecar) && sidecar != checkpoint)
        {
            File.Copy(sidecar, Path.Combine(entryDir, SidecarFile));
            c.Log($"model: with its sidecar {Path.GetFileName(sidecar)}");
        }
        var tokenizer = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpoint))!, ClipTokenizerFiles.Folder);
        if (File.Exists(Path.Combine(tokenizer, "vocab.json")) && File.Exists(Path.Combine(tokenizer, "merges.txt")))
        {
            Directory.CreateDirectory(Path.Combine(entryDir, ClipTokenizerFiles.Folder));
            foreach (var f in new[] { "vocab.json", "merges.txt" })
                File.Copy(Path.Combine(tokenizer, f), Path.Combine(entryDir, ClipTokenizerFiles.Folder, f));
            c.Log("model: with the tokenizer/ folder beside it");
        }
    }

    /// <summary>Where a local checkpoint's sidecar is kept in the Download entry.</summary>
    public const string SidecarFile = "model.sidecar.json";

    /// <summary>
    /// The model presets come with the CLIP tokenizer's pinned URLs; for a URL or a local file the recipe names
    /// `model.tokenizer` (or the checkpoint has a tokenizer/ folder beside it); built-ins ship their own.
    /// </summary>
    private static bool NeedsTokenizer(StageContext c) =>
        c.Recipe.Model.Tokenizer == null && ModelPresets.Find(c.Recipe.Model.Source.Trim()) != null;

    private static ModelSource Resolve(StageContext c, string source, string? sha, string field, bool presets)
    {
        // Built-ins are whatever generators this build registered (BuiltinModels), not a fixed list.
        const string prefix = "builtin:";
        if (source.Trim().StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            var name = source.Trim()[prefix.Length..];
            return new ModelSource(ModelSourceKind.Builtin, name, name, sha);
        }
        return ModelSource.Resolve(source, sha, c.ProjectDir, out var error, presets)
            ?? throw new UserError($"{Display(c)}: {field} {error}");
    }

    private static void AddResolved(FingerprintBuilder fp, string role, ModelSource s, string? recipeSha, StageContext c)
    {
        switch (s.Kind)
        {
            case ModelSourceKind.Url or ModelSourceKind.Preset:
                fp.Add($"input:{role}.url", s.Location);
                // A preset's own hash (when the recipe gives none) is an input the recipe fields do not show.
                if (s.Sha256 != null && recipeSha == null) fp.Add($"input:{role}.sha256", s.Sha256.ToLowerInvariant());
                break;
            case ModelSourceKind.LocalFile:
                // A local file is an input by content; the hash cache spares re-reading an unchanged file on every plan.
                var cache = new FileHashCache(Path.Combine(c.Store.Root, "hash-cache", "local-models.json"));
                var info = new FileInfo(s.Location);
                fp.Add($"input:{role}.file", cache.Sha256(info.FullName, info.Length, info.LastWriteTimeUtc));
                cache.Save();
                break;
            case ModelSourceKind.Builtin:
                fp.Add($"input:{role}.builtin", BuiltinModels.Find(s.Location) is { } g ? $"{g.Name}@{g.Version}" : $"{s.Location}@unregistered");
                break;
        }
    }

    private static void Fetch(StageContext c, EntryWriter output, string role, ModelSource s, string written)
    {
        var field = role == "model" ? "model.source" : "model.vae";
        var what = $"{field} in {Display(c)}";
        string sha;
        long size;
        string? folder = null;
        var type = ModelFileType.Unknown;
        switch (s.Kind)
        {
            case ModelSourceKind.Url or ModelSourceKind.Preset:
            {
                var r = ConsoleDownloadProgress.Run(p => new HttpDownloader(c.Store).Fetch(s.Location, s.Sha256, s.FileName, what, p));
                (sha, size) = (r.Sha256, r.Size);
                c.Log(r.Downloaded ? $"{role}: downloaded {s.FileName} ({ConsoleDownloadProgress.Bytes(size)}), sha256 {sha}" : $"{role}: {s.FileName} already in the store, sha256 {sha}");
                break;
            }
            case ModelSourceKind.LocalFile:
            {
                sha = Hashing.Sha256File(s.Location);
                if (s.Sha256 != null && !sha.Equals(s.Sha256, StringComparison.OrdinalIgnoreCase))
                    throw new UserError($"{what}: {s.Location} has SHA-256 {sha}, but the recipe expects {s.Sha256.ToLowerInvariant()}. " +
                        "Nothing was stored. Point the recipe at the right file, or put the new hash in the recipe if the file changed on purpose.");
                c.Store.PutFile(s.Location, sha, move: false);
                size = new FileInfo(s.Location).Length;
                if (role == "model") CopyCompanions(s.Location, output.Directory, c);
                c.Log($"{role}: stored {s.Location} ({ConsoleDownloadProgress.Bytes(size)}), sha256 {sha}");
                break;
            }
            default:
                (sha, size, folder, type) = Generate(c, output, role, s, what);
                break;
        }

        if (folder == null)
        {
            type = ModelFileTypes.Detect(c.Store.BlobPath(sha));
            if (type == ModelFileType.Unknown)
            {
                var looks = ModelFileTypes.Describe(c.Store.BlobPath(sha));
                c.Store.DeleteBlob(sha);
                throw new UserError($"{what}: {s.Location} is not a model file: it is {looks}. " +
                    "Use a link that downloads the .safetensors or .ckpt file itself (on Hugging Face, the \"download\" link; /blob/ links are turned into /resolve/ automatically).");
            }
            if (role == "model") ModelFamilyCheck.RequireSd1(c.Store.BlobPath(sha), type, what, written);
            output.ReferenceBlob(sha);
        }
        if (s.Sha256 == null && s.Kind != ModelSourceKind.Builtin)
            c.Log($"{role}: note: {field} has no sha256 in the recipe, so it was not verified; add `{(role == "model" ? "sha256" : "vae_sha256")}: {sha}` under model: to pin it");

        var record = new DownloadedModel
        {
            Role = role, Source = written, Kind = s.Kind.ToString().ToLowerInvariant() switch { "localfile" => "local", var k => k },
            Location = s.Kind == ModelSourceKind.Builtin ? null : s.Location, FileName = s.FileName,
            Sha256 = sha, Size = size, Type = type.Name(), Folder = folder,
        };
        File.WriteAllText(Path.Combine(output.Directory, role + ".json"), record.ToJson());
    }

    private static (string Sha, long Size, string? Folder, ModelFileType Type) Generate(StageContext c, EntryWriter output, string role, ModelSource s, string what)
    {
        var generator = BuiltinModels.Find(s.Location) ?? throw new UserError(
            $"{what}: builtin:{s.Location} is not available in this build of LoraBake" +
            (BuiltinModels.Names.Count > 0 ? $"; available: {string.Join(", ", BuiltinModels.Names.Select(n => "builtin:" + n))}" : "") +
            "; use a preset (anime, anylora, sd15), a URL or a local file.");
        var temp = c.Store.NewTempPath();
        Directory.CreateDirectory(temp);
        try
        {
            c.Log($"{role}: generating builtin:{generator.Name}");
            generator.Generate(temp);
            var files = Directory.EnumerateFiles(temp, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new InvalidOperationException($"builtin:{generator.Name} generated no files");
            if (files.Count == 1)
            {
                var sha = c.Store.PutFile(files[0], move: true);
                return (sha, new FileInfo(c.Store.BlobPath(sha)).Length, null, ModelFileType.Unknown);
            }
            var folder = role;
            var target = Path.Combine(output.Directory, folder);
            var listing = string.Concat(files.Select(f => $"{Path.GetRelativePath(temp, f).Replace('\\', '/')} {Hashing.Sha256File(f)}\n"));
            var size = files.Sum(f => new FileInfo(f).Length);
            Directory.Move(temp, target);
            return (Hashing.Sha256Text(listing), size, folder, ModelFileType.Directory);
        }
        finally
        {
            ArtifactStore.TryDeleteDirectory(temp);
        }
    }

    private static string Display(StageContext c) =>
        RecipeLoader.DisplayPath(c.Layout.Root, string.IsNullOrEmpty(c.Recipe.SourcePath) ? c.Layout.RecipePath(c.Project) : c.Recipe.SourcePath);
}
