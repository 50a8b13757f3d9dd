using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace LoraBake.Sampling;

/// <summary>
/// From sampled latents to pixels, as diffusers' pipeline and <c>VaeImageProcessor.postprocess</c> do:
/// decode(latents / 0.18215), then (x/2 + 0.5).clamp(0, 1)·255 rounded half-to-even to bytes.
/// </summary>
public static class ImageConversion
{
    /// <summary>SD 1.x VAE <c>scaling_factor</c>.</summary>
    public const double Sd1VaeScalingFactor = 0.18215;

    /// <summary>Decoded images [B,3,H,W] in [−1, 1] for sampled latents; <paramref name="decode"/> is the VAE decoder.</summary>
    public static Tensor DecodeLatents(Tensor latents, Func<Tensor, Tensor> decode, double scalingFactor = Sd1VaeScalingFactor)
    {
        using var scaled = latents / scalingFactor;
        return decode(scaled);
    }

    /// <summary>Bytes [B,H,W,3] (uint8, CPU) of decoded images [B,3,H,W] in [−1, 1].</summary>
    public static Tensor ToRgbBytes(Tensor decoded)
    {
        if (decoded.dim() != 4 || decoded.shape[1] != 3)
            throw new ArgumentException($"expected decoded images [batch, 3, height, width], got [{string.Join(",", decoded.shape)}]");
        using var scope = NewDisposeScope();
        var unit = (decoded.to(ScalarType.Float32) / 2 + 0.5f).clamp(0f, 1f);
        var bytes = (unit.permute(0, 2, 3, 1) * 255f).round().to(ScalarType.Byte).cpu().contiguous();
        return bytes.MoveToOuterDisposeScope();
    }

    /// <summary>One RGB image per batch item of decoded images [B,3,H,W] in [−1, 1]. The caller disposes the images.</summary>
    public static Image<Rgb24>[] ToImages(Tensor decoded)
    {
        using var bytes = ToRgbBytes(decoded);
        int b = (int)bytes.shape[0], h = (int)bytes.shape[1], w = (int)bytes.shape[2];
        var all = bytes.data<byte>().ToArray();
        var images = new Image<Rgb24>[b];
        for (int i = 0; i < b; i++)
            images[i] = Image.LoadPixelData<Rgb24>(all.AsSpan(i * h * w * 3, h * w * 3), w, h);
        return images;
    }
}
