using LoraBake.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.ToyWorld;

/// <summary>
/// The procedural toy world: scenes drawn from a seed (<see cref="Scene"/>), rendered as flat-colour pictures with
/// 4×4 supersampled edges (<see cref="Render"/>). Everything is a pure function of (seed, index), so any amount of
/// captioned data exists offline and every machine draws the same pixels.
/// The pretraining palette and shapes leave out <see cref="ToyConcept.Color"/> (pink) and the heart: the demo
/// concept is something the pretrained base has never seen.
/// </summary>
public static class ToyWorldGenerator
{
    public static readonly ToyColor Red = new("red", 220, 40, 40);
    public static readonly ToyColor Orange = new("orange", 245, 140, 30);
    public static readonly ToyColor Yellow = new("yellow", 240, 220, 40);
    public static readonly ToyColor Green = new("green", 40, 170, 60);
    public static readonly ToyColor Blue = new("blue", 40, 80, 220);
    public static readonly ToyColor Purple = new("purple", 120, 50, 170);
    public static readonly ToyColor White = new("white", 245, 245, 245);
    public static readonly ToyColor Black = new("black", 20, 20, 20);
    public static readonly ToyColor Gray = new("gray", 128, 128, 128);

    /// <summary>Colours an object may have in pretraining.</summary>
    public static readonly IReadOnlyList<ToyColor> ObjectColors = [Red, Orange, Yellow, Green, Blue, Purple, White, Black];
    /// <summary>Colours a background may have (objects never share their background's colour).</summary>
    public static readonly IReadOnlyList<ToyColor> BackgroundColors = [White, Black, Gray, Blue, Green, Yellow];
    /// <summary>Shapes of pretraining (the heart is the demo concept's).</summary>
    public static readonly IReadOnlyList<ToyShape> PretrainShapes = [ToyShape.Circle, ToyShape.Square, ToyShape.Triangle, ToyShape.Star, ToyShape.Ring];

    /// <summary>The scene number <paramref name="index"/> of the world <paramref name="seed"/> (never pink, never a heart).</summary>
    public static ToyScene Scene(long seed, long index) => Draw(new DeterministicRng(seed, index, 0x746F79 /* "toy" */), PretrainShapes, ObjectColors);

    /// <summary>
    /// A scene for the VAE, which is an image codec rather than the generative model: like SD's VAE it has seen every
    /// colour and shape there is, the concept's pink and heart included. Only the UNet and text encoder never see them.
    /// </summary>
    public static ToyScene CodecScene(long seed, long index) => Draw(new DeterministicRng(seed, index, 0x636F6465 /* "code" */),
        [.. PretrainShapes, ToyConcept.Shape], [.. ObjectColors, ToyConcept.Color]);

    static ToyScene Draw(DeterministicRng rng, IReadOnlyList<ToyShape> shapes, IReadOnlyList<ToyColor> objectColors)
    {
        var shape = shapes[rng.NextInt(shapes.Count)];
        var background = BackgroundColors[rng.NextInt(BackgroundColors.Count)];
        var colors = objectColors.Where(c => c != background).ToList();
        var color = colors[rng.NextInt(colors.Count)];
        int count = rng.NextDouble() < 0.15 ? 2 : 1;
        var size = count == 2 || rng.NextDouble() < 0.5 ? ToySize.Small : ToySize.Large;
        var positions = Enum.GetValues<ToyPosition>();
        var position = rng.NextDouble() < 0.4 ? ToyPosition.Center : positions[rng.NextInt(positions.Length)];
        return new ToyScene(shape, color, size, position, background, count);
    }

    /// <summary>The scene as RGB bytes, row-major [side, side, 3].</summary>
    public static byte[] RenderBytes(ToyScene scene, int side)
    {
        const int ss = 4;
        var rgb = new byte[side * side * 3];
        var shapes = scene.Centers.Select(c => (c.X, c.Y)).ToList();
        for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++)
        {
            int inside = 0;
            for (int sy = 0; sy < ss; sy++)
            for (int sx = 0; sx < ss; sx++)
            {
                double px = (x + (sx + 0.5) / ss) / side, py = (y + (sy + 0.5) / ss) / side;
                foreach (var (cx, cy) in shapes)
                    if (Inside(scene.Shape, (px - cx) / scene.Radius, (py - cy) / scene.Radius)) { inside++; break; }
            }
            double a = inside / (double)(ss * ss);
            int o = (y * side + x) * 3;
            rgb[o] = Mix(scene.Background.R, scene.Color.R, a);
            rgb[o + 1] = Mix(scene.Background.G, scene.Color.G, a);
            rgb[o + 2] = Mix(scene.Background.B, scene.Color.B, a);
        }
        return rgb;
    }

    public static Image<Rgb24> Render(ToyScene scene, int side) => Image.LoadPixelData<Rgb24>(RenderBytes(scene, side), side, side);

    static byte Mix(byte bg, byte fg, double a) => (byte)Math.Round(bg + (fg - bg) * a);

    /// <summary>Whether (x, y), in units of the object's radius around its centre (y down), is inside the shape.</summary>
    public static bool Inside(ToyShape shape, double x, double y)
    {
        double d2 = x * x + y * y;
        switch (shape)
        {
            case ToyShape.Circle: return d2 <= 1;
            case ToyShape.Ring: return d2 <= 1 && d2 >= 0.36;
            case ToyShape.Square: return Math.Abs(x) <= 0.82 && Math.Abs(y) <= 0.82;
            case ToyShape.Triangle:
            {
                // Upward equilateral triangle inscribed in the unit circle: apex (0, −1), base at y = 0.5.
                if (y > 0.5) return false;
                double halfWidth = (y + 1) / 1.5 * 0.866;
                return Math.Abs(x) <= halfWidth;
            }
            case ToyShape.Star:
            {
                // Five points, outer radius 1, inner 0.45; boundary linear between them in polar angle.
                double r = Math.Sqrt(d2);
                if (r > 1) return false;
                if (r < 0.38) return true;
                double theta = Math.Atan2(x, -y); // 0 at the top point
                double sector = Math.PI / 5;
                double t = Math.Abs(((theta % (2 * sector)) + 2 * sector) % (2 * sector) - sector) / sector; // 1 at a point, 0 between
                return r <= StarEdge(t);
            }
            case ToyShape.Heart:
            {
                // (x² + y² − 1)³ − x² y³ ≤ 0, y up, scaled to fill about the unit circle.
                double hx = x * 1.15, hy = -y * 1.15 + 0.15;
                double q = hx * hx + hy * hy - 1;
                return q * q * q - hx * hx * hy * hy * hy <= 0;
            }
            default: throw new ArgumentOutOfRangeException(nameof(shape), shape, null);
        }
    }

    // Radius of the star's straight edge at fraction t between an inner vertex (t = 0) and an outer point (t = 1).
    static double StarEdge(double t)
    {
        const double inner = 0.45, half = Math.PI / 5;
        // Line from inner vertex (angle 0, radius inner) to point (angle half, radius 1), in polar form.
        double ax = inner, ay = 0, bx = Math.Cos(half), by = Math.Sin(half);
        double phi = t * half;
        double dx = bx - ax, dy = by - ay;
        // Intersect ray (cos φ, sin φ)·s with the segment: s = (ax·dy − ay·dx) / (cos φ·dy − sin φ·dx).
        return (ax * dy - ay * dx) / (Math.Cos(phi) * dy - Math.Sin(phi) * dx);
    }
}
