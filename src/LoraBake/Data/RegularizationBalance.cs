namespace LoraBake.Data;

/// <summary>
/// kohya's balancing of regularisation images (sd-scripts DreamBoothDataset; docs/kohya-compatibility.md, "Step arithmetic"): training images
/// enter an epoch `repeats` times; reg images are registered in order with their subset's repeats until they
/// reach the training images × repeats, then one more repeat each, round-robin, until the two are equal. Reg
/// images beyond that point are not used. No training images means no reg images.
/// </summary>
public static class RegularizationBalance
{
    /// <summary>How many times each image (same order) enters an epoch; 0 for an unused reg image.</summary>
    public static int[] Repeats(IReadOnlyList<ProcessedIndexImage> images)
    {
        var result = images.Select(i => i.IsReg ? 0 : i.Repeats).ToArray();
        long train = result.Sum(r => (long)r);
        var reg = Enumerable.Range(0, images.Count).Where(i => images[i].IsReg).ToList();
        if (reg.Count == 0) return result;
        long n = 0;
        bool firstLoop = true;
        while (n < train)
        {
            foreach (var i in reg)
            {
                if (firstLoop) { result[i] = images[i].Repeats; n += images[i].Repeats; }
                else { result[i] += 1; n += 1; }
                if (n >= train) break;
            }
            firstLoop = false;
        }
        return result;
    }
}
