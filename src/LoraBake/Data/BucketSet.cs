namespace LoraBake.Data;

/// <summary>Where an image goes: its bucket, the size it is resized to (covering the bucket), and the crop.</summary>
/// <param name="Bucket">The training size (width, height).</param>
/// <param name="Resized">The size the whole image is resized to before cropping.</param>
/// <param name="CropLeft">Left offset of the bucket inside the resized image.</param>
/// <param name="CropTop">Top offset of the bucket inside the resized image.</param>
public readonly record struct BucketAssignment(Size2 Bucket, Size2 Resized, int CropLeft, int CropTop)
{
    /// <summary>kohya's crop_ltrb in resized coordinates: (left, top, right, bottom).</summary>
    public (int Left, int Top, int Right, int Bottom) CropLtrb => (CropLeft, CropTop, CropLeft + Bucket.Width, CropTop + Bucket.Height);
}

/// <summary>A width × height pair (kohya's reso tuples).</summary>
public readonly record struct Size2(int Width, int Height)
{
    public override string ToString() => $"{Width}x{Height}";
}

/// <summary>
/// Aspect-ratio buckets exactly as kohya's BucketManager and model_util.make_bucket_resolutions
/// (docs/kohya-compatibility.md, "Buckets"): the same set, the same nearest-aspect choice (first on ties, in sorted order),
/// the same cover scaling with int(x + 0.5) rounding and the same centred crop ((excess) // 2).
/// </summary>
public sealed class BucketSet
{
    private readonly HashSet<Size2> _set;
    private readonly double[] _aspects;

    /// <summary>The predefined buckets in kohya's order (tuples sorted by width, then height); empty with no_upscale.</summary>
    public IReadOnlyList<Size2> Buckets { get; }
    public int Resolution { get; }
    public int Step { get; }
    public bool NoUpscale { get; }
    /// <summary>max_area = resolution².</summary>
    public long MaxArea => (long)Resolution * Resolution;

    private BucketSet(int resolution, int step, bool noUpscale, IReadOnlyList<Size2> buckets)
    {
        Resolution = resolution;
        Step = step;
        NoUpscale = noUpscale;
        Buckets = buckets;
        _set = [.. buckets];
        _aspects = [.. buckets.Select(b => (double)b.Width / b.Height)];
    }

    /// <summary>
    /// make_bucket_resolutions for a square resolution: the square floor(√area/step)·step, then for each width
    /// w = min, min+step, … ≤ max the height min(max, floor((area // w) / step)·step), kept (with its transpose)
    /// when ≥ min. min is rounded down and max up to the step, as kohya's dataset does before this call.
    /// </summary>
    public static BucketSet Make(int resolution, int minBucketReso, int maxBucketReso, int step, bool noUpscale = false)
    {
        if (step <= 0 || resolution <= 0) throw new ArgumentOutOfRangeException(nameof(step), "resolution and step must be positive");
        var min = minBucketReso - minBucketReso % step;
        var max = maxBucketReso % step == 0 ? maxBucketReso : maxBucketReso + step - maxBucketReso % step;
        if (noUpscale) return new BucketSet(resolution, step, true, []);
        if (resolution < min || resolution > max)
            throw new ArgumentOutOfRangeException(nameof(resolution), $"resolution {resolution} must lie within min_bucket_reso {min} and max_bucket_reso {max}");

        long area = (long)resolution * resolution;
        var set = new HashSet<Size2>();
        var square = (int)(Math.Floor(Math.Sqrt(area) / step) * step);
        set.Add(new Size2(square, square));
        for (var w = min; w <= max; w += step)
        {
            var h = (int)Math.Min(max, area / w / step * step);
            if (h < min) continue;
            set.Add(new Size2(w, h));
            set.Add(new Size2(h, w));
        }
        var sorted = set.OrderBy(s => s.Width).ThenBy(s => s.Height).ToList();
        return new BucketSet(resolution, step, false, sorted);
    }

    /// <summary>One square bucket resolution × resolution (enable_bucket: false): every image is cover-resized and centre-cropped to it.</summary>
    public static BucketSet Square(int resolution, int step = 64) =>
        new(resolution, step, false, [new Size2(resolution, resolution)]);

    /// <summary>kohya select_bucket + trim_and_resize_if_required's centred crop, for an image already oriented.</summary>
    public BucketAssignment Assign(int imageWidth, int imageHeight)
    {
        if (imageWidth <= 0 || imageHeight <= 0) throw new ArgumentOutOfRangeException(nameof(imageWidth));
        double aspect = (double)imageWidth / imageHeight;
        Size2 bucket;
        Size2 resized;
        if (!NoUpscale)
        {
            bucket = new Size2(imageWidth, imageHeight);
            if (!_set.Contains(bucket))
            {
                // np.argmin: the first smallest error wins.
                var best = 0;
                var bestErr = double.PositiveInfinity;
                for (var i = 0; i < _aspects.Length; i++)
                {
                    var err = Math.Abs(_aspects[i] - aspect);
                    if (err < bestErr) { bestErr = err; best = i; }
                }
                bucket = Buckets[best];
            }
            double bucketAspect = (double)bucket.Width / bucket.Height;
            // Wider than the bucket → match heights (width overflows); otherwise match widths.
            double scale = aspect > bucketAspect ? (double)bucket.Height / imageHeight : (double)bucket.Width / imageWidth;
            resized = new Size2(RoundHalfUp(imageWidth * scale), RoundHalfUp(imageHeight * scale));
        }
        else
        {
            if ((long)imageWidth * imageHeight > MaxArea)
            {
                // Shrink to max_area keeping the aspect, then round the side that keeps the aspect best.
                double rw = Math.Sqrt(MaxArea * aspect);
                double rh = MaxArea / rw;
                int bwRounded = RoundToSteps(rw);
                int bhInWr = RoundToSteps(bwRounded / aspect);
                double arWidthRounded = (double)bwRounded / bhInWr;
                int bhRounded = RoundToSteps(rh);
                int bwInHr = RoundToSteps(bhRounded * aspect);
                double arHeightRounded = (double)bwInHr / bhRounded;
                resized = Math.Abs(arWidthRounded - aspect) < Math.Abs(arHeightRounded - aspect)
                    ? new Size2(bwRounded, RoundHalfUp(bwRounded / aspect))
                    : new Size2(RoundHalfUp(bhRounded * aspect), bhRounded);
            }
            else
            {
                resized = new Size2(imageWidth, imageHeight);
            }
            // Never pad: the bucket is the resized size floored to the step.
            bucket = new Size2(resized.Width - resized.Width % Step, resized.Height - resized.Height % Step);
            if (bucket.Width == 0 || bucket.Height == 0)
                throw new ArgumentOutOfRangeException(nameof(imageWidth), $"image {imageWidth}x{imageHeight} is smaller than one bucket step ({Step})");
        }
        int left = resized.Width > bucket.Width ? (resized.Width - bucket.Width) / 2 : 0;
        int top = resized.Height > bucket.Height ? (resized.Height - bucket.Height) / 2 : 0;
        return new BucketAssignment(bucket, resized, left, top);
    }

    /// <summary>Python's int(x + 0.5) for non-negative x.</summary>
    private static int RoundHalfUp(double x) => (int)Math.Floor(x + 0.5);

    private int RoundToSteps(double x)
    {
        var v = RoundHalfUp(x);
        return v - v % Step;
    }
}
