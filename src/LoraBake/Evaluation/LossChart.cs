using System.Globalization;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Evaluation;

/// <summary>
/// The loss curve: each step's loss (light), its exponential moving average (dark; TensorBoard's debiased
/// EMA with <see cref="Smoothing"/>), and the learning rates on a second axis at the right. Drawn two ways from
/// the same geometry: loss.png with ImageSharp pixel writes and <see cref="BitmapFont"/>, and inline SVG for
/// report.html. NaN or infinite losses are left out of the lines and counted in the title.
/// </summary>
public static class LossChart
{
    public const double Smoothing = 0.9;
    public const int Width = 960, Height = 420;
    const int Left = 84, Right = 96, Top = 36, Bottom = 44;

    static readonly Rgb24 RawColor = new(166, 196, 230), EmaColor = new(20, 70, 160), UnetColor = new(230, 120, 20),
        TeColor = new(40, 150, 60), AxisColor = new(90, 90, 90), GridColor = new(225, 225, 225), TextColor = new(0, 0, 0);

    /// <summary>Debiased EMA: e_t = β·e_{t−1} + (1−β)·x_t, reported as e_t / (1 − β^n) over the n finite values so far.</summary>
    public static IReadOnlyList<double> Ema(IReadOnlyList<double> values, double beta = Smoothing)
    {
        var result = new double[values.Count];
        double e = 0;
        var n = 0;
        for (var i = 0; i < values.Count; i++)
        {
            if (double.IsFinite(values[i])) { e = beta * e + (1 - beta) * values[i]; n++; }
            result[i] = n == 0 ? double.NaN : e / (1 - Math.Pow(beta, n));
        }
        return result;
    }

    sealed record Geometry(IReadOnlyList<LossRow> Rows, IReadOnlyList<double> Ema, long StepMin, long StepMax,
        double LossMin, double LossMax, double LrMax, int Bad)
    {
        public double X(long step) => Left + (StepMax == StepMin ? 0.5 : (step - StepMin) / (double)(StepMax - StepMin)) * (Width - Left - Right);
        public double YLoss(double v) => Top + (1 - (v - LossMin) / (LossMax - LossMin)) * (Height - Top - Bottom);
        public double YLr(double v) => Top + (1 - v / LrMax) * (Height - Top - Bottom);
        public string Title => $"loss per step, EMA {Smoothing.ToString(CultureInfo.InvariantCulture)} (dark), lr unet (orange) / te (green)"
            + (Bad > 0 ? $"; {Bad} NaN/inf steps not drawn" : "");
    }

    static Geometry Measure(IReadOnlyList<LossRow> rows)
    {
        var finite = rows.Where(r => double.IsFinite(r.Loss)).Select(r => r.Loss).ToList();
        double lo = finite.Count == 0 ? 0 : finite.Min(), hi = finite.Count == 0 ? 1 : finite.Max();
        if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
        var pad = (hi - lo) * 0.05;
        var lrs = rows.SelectMany(r => new[] { r.LrUnet, r.LrTe }).Where(double.IsFinite).ToList();
        var lrMax = lrs.Count == 0 || lrs.Max() <= 0 ? 1 : lrs.Max() * 1.05;
        return new Geometry(rows, Ema(rows.Select(r => r.Loss).ToList()),
            rows.Count == 0 ? 0 : rows.Min(r => r.Step), rows.Count == 0 ? 1 : rows.Max(r => r.Step),
            lo - pad, hi + pad, lrMax, rows.Count - finite.Count);
    }

    static IEnumerable<(string Text, double X, double Y, bool AlignRight)> Labels(Geometry g)
    {
        var bottom = Height - Bottom;
        yield return (g.Title, Left, 12, false);
        yield return (Num(g.LossMax), Left - 6, Top, true);
        yield return (Num((g.LossMax + g.LossMin) / 2), Left - 6, (Top + bottom) / 2.0, true);
        yield return (Num(g.LossMin), Left - 6, bottom - 8, true);
        yield return (Num(g.LrMax), Width - Right + 6, Top, false);
        yield return (Num(g.LrMax / 2), Width - Right + 6, (Top + bottom) / 2.0, false);
        yield return ("0", Width - Right + 6, bottom - 8, false);
        yield return ($"step {g.StepMin}", Left, bottom + 8, false);
        yield return ($"step {g.StepMax}", Width - Right, bottom + 8, true);
        yield return ("loss", 4, (Top + bottom) / 2.0 + 16, false);
        yield return ("lr", Width - 20, (Top + bottom) / 2.0 + 16, false);
    }

    static IEnumerable<(IReadOnlyList<(double X, double Y)> Points, Rgb24 Color, int Thickness, string Css)> Series(Geometry g)
    {
        var rows = g.Rows;
        yield return (Pts(rows.Select((r, i) => (r.Step, r.Loss)), g.X, g.YLoss), RawColor, 1, "#a6c4e6");
        yield return (Pts(rows.Select((r, i) => (r.Step, g.Ema[i])), g.X, g.YLoss), EmaColor, 2, "#1446a0");
        yield return (Pts(rows.Select(r => (r.Step, r.LrUnet)), g.X, g.YLr), UnetColor, 2, "#e67814");
        if (rows.Any(r => r.LrTe > 0)) yield return (Pts(rows.Select(r => (r.Step, r.LrTe)), g.X, g.YLr), TeColor, 2, "#28963c");
    }

    static IReadOnlyList<(double, double)> Pts(IEnumerable<(long Step, double V)> values, Func<long, double> x, Func<double, double> y) =>
        values.Where(p => double.IsFinite(p.V)).Select(p => (x(p.Step), y(p.V))).ToList();

    /// <summary>loss.png as an image (the caller saves it).</summary>
    public static Image<Rgb24> Render(IReadOnlyList<LossRow> rows)
    {
        var g = Measure(rows);
        var img = new Image<Rgb24>(Width, Height, new Rgb24(255, 255, 255));
        for (var k = 0; k <= 4; k++)
        {
            var y = (int)Math.Round(Top + k * (Height - Top - Bottom) / 4.0);
            Line(img, Left, y, Width - Right, y, GridColor, 1);
        }
        foreach (var s in Series(g))
            for (var i = 1; i < s.Points.Count; i++)
                Line(img, (int)Math.Round(s.Points[i - 1].X), (int)Math.Round(s.Points[i - 1].Y), (int)Math.Round(s.Points[i].X), (int)Math.Round(s.Points[i].Y), s.Color, s.Thickness);
        Line(img, Left, Top, Left, Height - Bottom, AxisColor, 1);
        Line(img, Width - Right, Top, Width - Right, Height - Bottom, AxisColor, 1);
        Line(img, Left, Height - Bottom, Width - Right, Height - Bottom, AxisColor, 1);
        foreach (var (text, x, y, right) in Labels(g))
        {
            var w = BitmapFont.MeasureWidth(text, 1);
            BitmapFont.DrawLine(img, text, (int)Math.Round(right ? x - w : x), (int)Math.Round(y), 1, TextColor);
        }
        return img;
    }

    /// <summary>The same chart as an &lt;svg&gt; element (no external resources; generic monospace font).</summary>
    public static string Svg(IReadOnlyList<LossRow> rows)
    {
        var g = Measure(rows);
        var sb = new StringBuilder();
        sb.Append($"<svg viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"loss curve\">\n");
        sb.Append($"<rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{Height}\" fill=\"#fff\"/>\n");
        for (var k = 0; k <= 4; k++)
        {
            var y = Top + k * (Height - Top - Bottom) / 4.0;
            sb.Append($"<line x1=\"{Left}\" y1=\"{N(y)}\" x2=\"{Width - Right}\" y2=\"{N(y)}\" stroke=\"#e1e1e1\"/>\n");
        }
        foreach (var s in Series(g))
        {
            if (s.Points.Count == 0) continue;
            sb.Append($"<polyline fill=\"none\" stroke=\"{s.Css}\" stroke-width=\"{s.Thickness}\" points=\"");
            sb.Append(string.Join(" ", s.Points.Select(p => $"{N(p.X)},{N(p.Y)}")));
            sb.Append("\"/>\n");
        }
        sb.Append($"<polyline fill=\"none\" stroke=\"#5a5a5a\" points=\"{Left},{Top} {Left},{Height - Bottom} {Width - Right},{Height - Bottom} {Width - Right},{Top}\"/>\n");
        foreach (var (text, x, y, right) in Labels(g))
            sb.Append($"<text x=\"{N(x)}\" y=\"{N(y + 8)}\" font-family=\"monospace\" font-size=\"11\"{(right ? " text-anchor=\"end\"" : "")}>{ReportHtml.Escape(text)}</text>\n");
        sb.Append("</svg>");
        return sb.ToString();
    }

    static string N(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
    static string Num(double v) => v.ToString(Math.Abs(v) is > 0 and < 0.01 ? "0.##e0" : "0.####", CultureInfo.InvariantCulture);

    /// <summary>Bresenham's line with a square pen of <paramref name="thickness"/> pixels.</summary>
    static void Line(Image<Rgb24> img, int x0, int y0, int x1, int y1, Rgb24 c, int thickness)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            for (var ox = 0; ox < thickness; ox++)
                for (var oy = 0; oy < thickness; oy++)
                {
                    int px = x0 + ox - thickness / 2, py = y0 + oy - thickness / 2;
                    if (px >= 0 && py >= 0 && px < img.Width && py < img.Height) img[px, py] = c;
                }
            if (x0 == x1 && y0 == y1) break;
            var e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }
}
