using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SixLabors.ImageSharp.Processing.Processors.Transforms;

namespace LoraBake.Data;

/// <summary>
/// Resize-then-crop to a bucket, kohya's trim_and_resize_if_required. Kernel choice follows kohya's
/// resize_image: an area filter when both sides shrink (cv2.INTER_AREA there), Lanczos otherwise.
/// For the area filter we use ImageSharp's Box resampler: when shrinking, ImageSharp widens the kernel by
/// the scale factor, so Box becomes an average over the source pixels under each destination pixel — the
/// block average INTER_AREA gives for integer ratios (tested); for other ratios a source pixel counts whole
/// when its centre lies under the destination pixel, where INTER_AREA weights it by the fraction covered.
/// It runs in ImageSharp's vectorised resize engine, which a hand-written area average would not.
/// </summary>
public static class BucketResize
{
    /// <summary>Which kernel kohya would pick for this size change.</summary>
    public static IResampler KernelFor(int width, int height, Size2 resized) =>
        width >= resized.Width && height >= resized.Height ? KnownResamplers.Box : KnownResamplers.Lanczos3;

    /// <summary>Resize to <see cref="BucketAssignment.Resized"/> (if different) and crop to the bucket, in place.</summary>
    public static void Apply(Image<Rgb24> image, BucketAssignment a)
    {
        if (image.Width != a.Resized.Width || image.Height != a.Resized.Height)
        {
            var sampler = KernelFor(image.Width, image.Height, a.Resized);
            image.Mutate(x => x.Resize(new ResizeOptions
            {
                Size = new Size(a.Resized.Width, a.Resized.Height),
                Mode = ResizeMode.Stretch,
                Sampler = sampler,
                Compand = false,
            }));
        }
        if (image.Width != a.Bucket.Width || image.Height != a.Bucket.Height)
            image.Mutate(x => x.Crop(new Rectangle(a.CropLeft, a.CropTop, a.Bucket.Width, a.Bucket.Height)));
    }
}
