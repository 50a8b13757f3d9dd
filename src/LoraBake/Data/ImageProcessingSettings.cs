using System.Globalization;
using LoraBake.Recipes;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Data;

/// <summary>
/// Everything that changes a processed image's pixels — and nothing else: the bucket set (resolution,
/// min/max bucket, step, no_upscale), the background colour and the pixel limit. Flip is not here: the
/// processed image is stored upright and flipped copies are made when latents are cached.
/// </summary>
public sealed record ImageProcessingSettings(BucketSet Buckets, Rgb24 Background, long MaxImagePixels)
{
    /// <summary>Bump when the processing algorithm or output format changes: every cached image is redone.</summary>
    public const int AlgorithmVersion = 1;

    public static ImageProcessingSettings From(DatasetSettings d)
    {
        if (!d.EnableBucket)
        {
            // kohya without buckets: every image is resized and centre-cropped to resolution × resolution.
            return new ImageProcessingSettings(BucketSet.Square(d.Resolution), BackgroundColor.Parse(d.Background), d.MaxImagePixels);
        }
        return new ImageProcessingSettings(
            BucketSet.Make(d.Resolution, d.EffectiveMinBucketReso, d.EffectiveMaxBucketReso, d.BucketResoSteps, d.BucketNoUpscale),
            BackgroundColor.Parse(d.Background), d.MaxImagePixels);
    }

    /// <summary>The canonical text of these settings, part of each image's cache key.</summary>
    public string CanonicalText => string.Create(CultureInfo.InvariantCulture,
        $"v{AlgorithmVersion};res={Buckets.Resolution};buckets={string.Join(',', Buckets.Buckets)};step={Buckets.Step};no_upscale={Buckets.NoUpscale};background={BackgroundColor.Canonical(Background)};max_pixels={MaxImagePixels}");
}
