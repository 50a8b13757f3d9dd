using LoraBake.Models;
using LoraBake.Models.Vae;
using LoraBake.Pipeline;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace LoraBake.Training;

/// <summary>
/// VAE latents of the processed images, encoded once and kept in the store (kohya's cache_latents): one entry
/// per (VAE, processed image, flipped), holding the unscaled latent [4, H/8, W/8] in fp32. Scaling by 0.18215
/// happens at use. The posterior sample is drawn from a generator seeded by the entry key, so the cache is
/// reproducible bit for bit.
/// </summary>
public sealed class LatentCache(ArtifactStore store, string vaeKey, Func<AutoencoderKL> vae)
{
    public const string Kind = "latents";
    public int Encoded { get; private set; }
    public int Hits { get; private set; }

    /// <summary>The latent of the processed PNG (store blob <paramref name="pngSha256"/>), flipped horizontally when asked.</summary>
    public Tensor Get(string pngSha256, bool flipped)
    {
        var key = Key(vaeKey, pngSha256, flipped);
        var dir = store.TryOpenEntry(Kind, key);
        if (dir != null)
        {
            Hits++;
            return Models.Checkpoints.SafetensorsFile.Open(Path.Combine(dir, "latent.safetensors")).Load("latents");
        }
        using var scope = NewDisposeScope();
        var image = LoadImage(store.BlobPath(pngSha256), flipped);
        using var generator = new Generator(Seed(key));
        Tensor latent;
        using (Runtime.GcQuietRegion.Enter()) // TorchSharp's temporary Scalars must outlive their native calls
        using (no_grad())
        using (var posterior = vae().Encode(image.to(vae().ParameterDevice())))
            latent = posterior.Sample(generator)[0].to(ScalarType.Float32).cpu().contiguous();
        if (!latent.isfinite().all().item<bool>())
            throw new InvalidDataException($"the VAE produced NaN/inf latents for processed image {pngSha256}; the VAE is broken (try a separate `vae:`)");
        using (var w = store.BeginEntry(Kind, key))
        {
            Models.Checkpoints.SafetensorsWriter.Save(Path.Combine(w.Directory, "latent.safetensors"),
                new Dictionary<string, Tensor> { ["latents"] = latent });
            w.Commit();
        }
        Encoded++;
        return latent.MoveToOuterDisposeScope();
    }

    /// <summary>The VAE part of a latent's key: the model's (and separate VAE's) content hash.</summary>
    public static string VaeKey(string modelSha256, string? vaeSha256) => modelSha256 + "+" + (vaeSha256 ?? "builtin-vae");

    /// <summary>The entry key of one latent (store gc recomputes it to know which latents a build still uses).</summary>
    public static string Key(string vaeKey, string pngSha256, bool flipped) =>
        Hashing.Sha256Text($"{vaeKey}\n{pngSha256}\n{(flipped ? "flip" : "noflip")}");

    /// <summary>RGB PNG → [1, 3, H, W] in [−1, 1] (ToTensor + Normalize(0.5, 0.5)).</summary>
    public static Tensor LoadImage(string path, bool flipped)
    {
        using var img = Image.Load<Rgb24>(path);
        int w = img.Width, h = img.Height;
        var data = new float[3 * h * w];
        img.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < h; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < w; x++)
                {
                    int sx = flipped ? w - 1 - x : x;
                    var p = row[sx];
                    data[0 * h * w + y * w + x] = p.R / 127.5f - 1f;
                    data[1 * h * w + y * w + x] = p.G / 127.5f - 1f;
                    data[2 * h * w + y * w + x] = p.B / 127.5f - 1f;
                }
            }
        });
        return tensor(data, [1, 3, h, w]);
    }

    static ulong Seed(string hexKey) => Convert.ToUInt64(hexKey[..16], 16) & 0x7FFF_FFFF_FFFF_FFFF;
}
