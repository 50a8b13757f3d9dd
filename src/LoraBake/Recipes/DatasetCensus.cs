namespace LoraBake.Recipes;

/// <summary>
/// A quick count of images per subset, for the step estimate shown while loading a recipe. It follows the
/// colab/kohya layout rules (explicit subsets; else images directly in the dataset folder with num_repeats and
/// `N_name` subfolders with N repeats) and only counts files by extension; the Process stage does the real work.
/// </summary>
public static class DatasetCensus
{
    public static readonly IReadOnlyList<string> ImageExtensions = [".png", ".jpg", ".jpeg", ".webp", ".bmp"];

    public static IReadOnlyList<(string Subset, int Images, int Repeats)> Count(Recipe recipe, string projectDir)
    {
        var d = recipe.Dataset;
        var result = new List<(string, int, int)>();
        var root = Path.Combine(projectDir, d.Path);
        if (d.Subsets.Count > 0)
        {
            foreach (var s in d.Subsets)
                result.Add((s.Path, Images(Path.Combine(projectDir, s.Path)), s.NumRepeats ?? d.NumRepeats));
            return result;
        }
        if (!Directory.Exists(root)) return result;
        var top = Images(root);
        if (top > 0) result.Add((d.Path, top, d.NumRepeats));
        foreach (var dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(dir);
            var us = name.IndexOf('_');
            if (us > 0 && int.TryParse(name[..us], out var repeats) && repeats > 0)
                result.Add((name, Images(dir), repeats));
        }
        return result;
    }

    static int Images(string dir) => !Directory.Exists(dir) ? 0
        : Directory.EnumerateFiles(dir).Count(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()));
}
