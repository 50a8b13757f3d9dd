using System.Text.RegularExpressions;
using LoraBake.Recipes;
using LoraBake.Runtime;

namespace LoraBake.Data;

/// <summary>
/// Finds the images, captions and subsets of projects/NAME/dataset (or `dataset.path`):
/// images directly in the folder form one subset (class tokens = project name, num_repeats); each subfolder is a
/// subset, kohya's `N_name` folders with N repeats and `name` as class tokens, other folders with num_repeats
/// and the project name. Explicit `dataset.subsets` (paths relative to the project folder, like `dataset.path`)
/// replace discovery; report paths stay relative to the dataset folder. Hidden files, other file types and
/// deeper folders are skipped and listed; captions whose image is missing are orphans. Only regular files
/// are used, decided without opening anything (<see cref="DatasetEntry"/>): pipes, devices, sockets, broken
/// links and links leaving the dataset folder (unless `follow_links: true`) are skipped with the reason.
/// </summary>
public static partial class DatasetDiscovery
{
    /// <summary>The image types the colab accepts (docs/kohya-compatibility.md, "Step arithmetic"), compared case-insensitively.</summary>
    public static readonly IReadOnlySet<string> ImageExtensions =
        new HashSet<string>([".png", ".jpg", ".jpeg", ".webp", ".bmp"], StringComparer.OrdinalIgnoreCase);

    [GeneratedRegex(@"^(\d+)_(.+)$")]
    private static partial Regex KohyaFolder();

    /// <summary>The dataset folder of a project.</summary>
    public static string DatasetRoot(string projectDir, DatasetSettings settings) =>
        Path.GetFullPath(Path.Combine(projectDir, settings.Path));

    public static DatasetLayout Discover(string projectDir, string projectName, DatasetSettings settings)
    {
        var root = DatasetRoot(projectDir, settings);
        if (!Directory.Exists(root))
            throw new UserError($"dataset folder {root} does not exist. Put the images (and .txt captions) in {Path.Combine(projectDir, "dataset")}, or set dataset.path in {Path.Combine(projectDir, "project.yaml")}.");
        var skipped = new List<SkippedFile>();
        var orphans = new List<string>();
        var subsets = new List<DatasetSubset>();

        if (settings.Subsets.Count > 0)
        {
            for (var i = 0; i < settings.Subsets.Count; i++)
            {
                var s = settings.Subsets[i];
                var dir = Path.GetFullPath(Path.Combine(projectDir, s.Path));
                if (!Directory.Exists(dir))
                    throw new UserError($"dataset.subsets[{i}].path: folder {dir} does not exist (paths are relative to the project folder {projectDir}). Fix the path or remove the subset.");
                var folder = Path.GetFileName(dir.TrimEnd(Path.DirectorySeparatorChar));
                var m = KohyaFolder().Match(folder);
                var subset = ScanFolder(root, dir, folder, settings, skipped, orphans, subfoldersAreSubsets: false,
                    numRepeats: s.NumRepeats ?? settings.NumRepeats,
                    classTokens: s.ClassTokens ?? (m.Success ? m.Groups[2].Value : projectName),
                    captionExtension: s.CaptionExtension ?? settings.CaptionExtension,
                    flipAug: s.FlipAug ?? settings.FlipAug,
                    shuffleTags: s.ShuffleTags ?? settings.ShuffleTags,
                    activationTags: s.ActivationTags ?? settings.ActivationTags,
                    isReg: s.IsReg);
                subsets.Add(subset);
            }
        }
        else
        {
            var top = ScanFolder(root, root, Path.GetFileName(root.TrimEnd(Path.DirectorySeparatorChar)), settings, skipped, orphans, subfoldersAreSubsets: true,
                settings.NumRepeats, projectName, settings.CaptionExtension, settings.FlipAug, settings.ShuffleTags, settings.ActivationTags, false);
            if (top.Images.Count > 0) subsets.Add(top);
            foreach (var dir in Folders(root, root, settings.FollowLinks))
            {
                var folder = Path.GetFileName(dir);
                if (folder.StartsWith('.')) { skipped.Add(new SkippedFile(Rel(root, dir) + "/", "hidden folder")); continue; }
                var m = KohyaFolder().Match(folder);
                var sub = ScanFolder(root, dir, folder, settings, skipped, orphans, subfoldersAreSubsets: false,
                    m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : settings.NumRepeats,
                    m.Success ? m.Groups[2].Value : projectName,
                    settings.CaptionExtension, settings.FlipAug, settings.ShuffleTags, settings.ActivationTags, false);
                if (sub.Images.Count > 0) subsets.Add(sub);
            }
        }
        skipped.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        orphans.Sort(StringComparer.Ordinal);
        return new DatasetLayout(root, subsets, skipped, orphans);
    }

    /// <summary>
    /// <see cref="Discover"/>, failing with what to do when there is nothing to train on: a missing folder, an
    /// empty one, and one whose files are all skipped each have their own message (plan checks this).
    /// </summary>
    public static DatasetLayout DiscoverTrainable(string projectDir, string projectName, DatasetSettings settings)
    {
        var layout = Discover(projectDir, projectName, settings);
        if (layout.Subsets.Any(s => s.Images.Count > 0)) return layout;
        if (layout.Skipped.Count == 0 && layout.OrphanCaptions.Count == 0)
            throw new UserError($"dataset folder {layout.Root} is empty. Put the training images (.png/.jpg/.jpeg/.webp/.bmp, with .txt captions) in it and run again.");
        var listed = layout.Skipped.Take(10).Select(s => $"  {s.RelativePath}: {s.Reason}")
            .Concat(layout.OrphanCaptions.Take(3).Select(o => $"  {o}: caption without an image")).ToList();
        var more = layout.Skipped.Count + layout.OrphanCaptions.Count - listed.Count;
        throw new UserError($"dataset folder {layout.Root} has no usable image; what is in it:\n{string.Join("\n", listed)}" +
            (more > 0 ? $"\n  … and {more} more" : "") + "\nAdd .png/.jpg/.jpeg/.webp/.bmp images (regular files) to it and run again.");
    }

    private static DatasetSubset ScanFolder(string root, string dir, string name, DatasetSettings settings,
        List<SkippedFile> skipped, List<string> orphans, bool subfoldersAreSubsets,
        int numRepeats, string classTokens, string captionExtension, bool flipAug, bool shuffleTags, int activationTags, bool isReg)
    {
        var images = new List<DatasetFile>();
        var captionFiles = new Dictionary<string, DatasetFile>(StringComparer.Ordinal);
        foreach (var path in List(root, dir, skipped))
        {
            var rel = Rel(root, path);
            var fileName = Path.GetFileName(path);
            var entry = DatasetEntry.Classify(root, path, settings.FollowLinks);
            if (entry.Kind == DatasetEntryKind.Folder) continue;   // subsets or nested folders, below
            if (fileName.StartsWith('.')) { skipped.Add(new SkippedFile(rel, "hidden file")); continue; }
            if (entry.Kind == DatasetEntryKind.Skipped) { skipped.Add(new SkippedFile(rel, entry.Reason!)); continue; }
            var ext = Path.GetExtension(fileName);
            var df = new DatasetFile(rel, Path.GetFullPath(path), entry.Stat.Size, DateTime.UnixEpoch.AddTicks(entry.Stat.MtimeNs / 100));
            if (ImageExtensions.Contains(ext)) images.Add(df);
            else if (captionExtension.Length > 0 && fileName.EndsWith(captionExtension, StringComparison.Ordinal)) captionFiles[fileName[..^captionExtension.Length]] = df;
            else skipped.Add(new SkippedFile(rel, ext.Length == 0 ? "not an image (no extension)" : $"not an image ({ext.ToLowerInvariant()})"));
        }
        if (!subfoldersAreSubsets)
        {
            foreach (var sub in Folders(root, dir, settings.FollowLinks))
                skipped.Add(new SkippedFile(Rel(root, sub) + "/", "nested folder (only one level of subset folders is read)"));
        }
        var captions = new Dictionary<string, DatasetFile>(StringComparer.Ordinal);
        var stems = new HashSet<string>(StringComparer.Ordinal);
        foreach (var img in images)
        {
            var stem = Path.GetFileNameWithoutExtension(img.FullPath);
            stems.Add(stem);
            if (captionFiles.TryGetValue(stem, out var cap)) captions[img.RelativePath] = cap;
        }
        foreach (var (stem, cap) in captionFiles)
            if (!stems.Contains(stem)) orphans.Add(cap.RelativePath);
        return new DatasetSubset
        {
            Name = name,
            RelativeDir = Rel(root, dir),
            NumRepeats = numRepeats,
            ClassTokens = classTokens,
            CaptionExtension = captionExtension,
            FlipAug = flipAug,
            ShuffleTags = shuffleTags,
            ActivationTags = activationTags,
            IsReg = isReg,
            Images = images,
            Captions = captions,
        };
    }

    /// <summary>The folders in <paramref name="dir"/> (links to folders by the same rule as files; others are reported by ScanFolder).</summary>
    static IEnumerable<string> Folders(string root, string dir, bool followLinks) =>
        List(root, dir, skipped: null)
            .Where(p => DatasetEntry.Classify(root, p, followLinks).Kind == DatasetEntryKind.Folder);

    /// <summary>The names in a folder, in ordinal order; a folder that cannot be listed is skipped with the reason (once, by ScanFolder).</summary>
    static IReadOnlyList<string> List(string root, string dir, List<SkippedFile>? skipped)
    {
        try { return Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            skipped?.Add(new SkippedFile(Rel(root, dir) + "/", $"folder cannot be read ({e.Message})"));
            return [];
        }
    }

    /// <summary>A path relative to the dataset folder with forward slashes ("" for the folder itself).</summary>
    public static string Rel(string root, string path)
    {
        var rel = Path.GetRelativePath(root, path);
        return rel == "." ? "" : rel.Replace('\\', '/');
    }
}
