using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace LoraBake.Evaluation;

/// <summary>
/// Grid pictures laid out as webui's `modules/images.py` does: <see cref="ImageGrid"/> is `image_grid`,
/// <see cref="Annotate"/> is `draw_grid_annotations` (labels above columns and left of rows, font size
/// (w+h)//25, line spacing font//2, left pad ¾·w when any row has a label, top pad = tallest column label +
/// 2·spacing, black text on white), and <see cref="Compose"/> is the X/Y/Z plot's assembly: one annotated
/// X/Y sub-grid per Z value, joined in a row under the Z titles. Text is <see cref="BitmapFont"/>; its scale is
/// round(font size / 10), which gives capitals about as tall as webui's DejaVu at that size. Where webui
/// shrinks the font for a word too wide for its line, this wraps and breaks the word instead.
/// </summary>
public static class GridImage
{
    static readonly Rgb24 Black = new(0, 0, 0);
    static readonly Rgb24 White = new(255, 255, 255);

    public static int FontSize(int width, int height) => (width + height) / 25;
    public static int FontScale(int fontSize) => Math.Max(1, (int)Math.Round(fontSize / 10.0, MidpointRounding.AwayFromZero));

    /// <summary>
    /// webui's image_grid: <paramref name="rows"/> rows (default round(√n), as for a batch), cols = ceil(n/rows),
    /// image i at (i % cols · w, i / cols · h) on black. All images must share the first one's size.
    /// </summary>
    public static Image<Rgb24> ImageGrid(IReadOnlyList<Image<Rgb24>> images, int? rows = null)
    {
        if (images.Count == 0) throw new ArgumentException("No images to lay out.", nameof(images));
        var r = rows ?? (int)Math.Round(Math.Sqrt(images.Count), MidpointRounding.ToEven);
        r = Math.Clamp(r, 1, images.Count);
        var cols = (images.Count + r - 1) / r;
        int w = images[0].Width, h = images[0].Height;
        var grid = new Image<Rgb24>(cols * w, r * h, Black);
        grid.Mutate(ctx =>
        {
            for (var i = 0; i < images.Count; i++)
            {
                if (images[i].Width != w || images[i].Height != h)
                    throw new ArgumentException($"Image {i} is {images[i].Width}×{images[i].Height}, not {w}×{h}.", nameof(images));
                ctx.DrawImage(images[i], new Point(i % cols * w, i / cols * h), 1f);
            }
        });
        return grid;
    }

    /// <summary>The layout <see cref="Annotate"/> uses, exposed so callers and tests can check it.</summary>
    public sealed record Layout(int FontSize, int Scale, int LineSpacing, int PadLeft, int PadTop,
        IReadOnlyList<IReadOnlyList<string>> ColumnLines, IReadOnlyList<IReadOnlyList<string>> RowLines);

    public static Layout Measure(int width, int height, IReadOnlyList<string> columnLabels, IReadOnlyList<string> rowLabels)
    {
        var fontSize = FontSize(width, height);
        var scale = FontScale(fontSize);
        var spacing = fontSize / 2;
        var padLeft = rowLabels.Sum(t => t.Trim().Length) == 0 ? 0 : width * 3 / 4;
        var colLines = columnLabels.Select(t => Lines(t, scale, width)).ToList();
        var rowLines = rowLabels.Select(t => Lines(t, scale, Math.Max(1, padLeft))).ToList();
        var lineH = BitmapFont.MeasureHeight(scale);
        var colHeights = colLines.Select(ls => ls.Count == 0 ? 0 : ls.Count * (lineH + spacing) - spacing).ToList();
        var padTop = colHeights.Sum() == 0 ? 0 : colHeights.Max() + spacing * 2;
        return new Layout(fontSize, scale, spacing, padLeft, padTop, colLines, rowLines);
    }

    static IReadOnlyList<string> Lines(string text, int scale, int maxWidth) =>
        text.Trim().Length == 0 ? [] : BitmapFont.Wrap(text, scale, maxWidth);

    /// <summary>
    /// webui's draw_grid_annotations with margin 0: <paramref name="grid"/> holds cells of
    /// <paramref name="width"/>×<paramref name="height"/>; one label per column and per row.
    /// </summary>
    public static Image<Rgb24> Annotate(Image<Rgb24> grid, int width, int height, IReadOnlyList<string> columnLabels, IReadOnlyList<string> rowLabels)
    {
        int cols = grid.Width / width, rows = grid.Height / height;
        if (cols != columnLabels.Count) throw new ArgumentException($"{columnLabels.Count} column labels for {cols} columns.", nameof(columnLabels));
        if (rows != rowLabels.Count) throw new ArgumentException($"{rowLabels.Count} row labels for {rows} rows.", nameof(rowLabels));
        var L = Measure(width, height, columnLabels, rowLabels);
        var result = new Image<Rgb24>(grid.Width + L.PadLeft, grid.Height + L.PadTop, White);
        result.Mutate(ctx => ctx.DrawImage(grid, new Point(L.PadLeft, L.PadTop), 1f));
        var lineH = BitmapFont.MeasureHeight(L.Scale);

        int BlockHeight(IReadOnlyList<string> lines) => lines.Count == 0 ? 0 : lines.Count * (lineH + L.LineSpacing) - L.LineSpacing;
        void DrawBlock(IReadOnlyList<string> lines, double centreX, double top)
        {
            var y = top;
            foreach (var line in lines)
            {
                var w = BitmapFont.MeasureWidth(line, L.Scale);
                BitmapFont.DrawLine(result, line, (int)Math.Round(centreX - w / 2.0), (int)Math.Round(y), L.Scale, Black);
                y += lineH + L.LineSpacing;
            }
        }

        for (var c = 0; c < cols; c++)
            DrawBlock(L.ColumnLines[c], L.PadLeft + width * c + width / 2.0, L.PadTop / 2.0 - BlockHeight(L.ColumnLines[c]) / 2.0);
        for (var r = 0; r < rows; r++)
            DrawBlock(L.RowLines[r], L.PadLeft / 2.0, L.PadTop + height * r + height / 2.0 - BlockHeight(L.RowLines[r]) / 2.0);
        return result;
    }

    /// <summary>
    /// The whole X/Y/Z picture. <paramref name="cellImages"/> is in grid order (x + y·|X| + z·|X|·|Y|), each
    /// cell already a batch grid of its seeds (<see cref="ImageGrid"/> with default rows).
    /// </summary>
    public static Image<Rgb24> Compose(IReadOnlyList<Image<Rgb24>> cellImages, IReadOnlyList<string> xLabels,
        IReadOnlyList<string> yLabels, IReadOnlyList<string> zLabels)
    {
        int nx = xLabels.Count, ny = yLabels.Count, nz = zLabels.Count;
        if (cellImages.Count != nx * ny * nz)
            throw new ArgumentException($"{cellImages.Count} cell images for a {nx}×{ny}×{nz} grid.", nameof(cellImages));
        int w = cellImages[0].Width, h = cellImages[0].Height;
        var subGrids = new List<Image<Rgb24>>();
        try
        {
            for (var z = 0; z < nz; z++)
            {
                using var plain = ImageGrid(cellImages.Skip(z * nx * ny).Take(nx * ny).ToList(), rows: ny);
                subGrids.Add(Annotate(plain, w, h, xLabels, yLabels));
            }
            if (zLabels.All(t => t.Trim().Length == 0) && nz == 1)
            {
                var only = subGrids[0];
                subGrids.Clear();
                return only;
            }
            int sw = subGrids[0].Width, sh = subGrids[0].Height;
            using var row = ImageGrid(subGrids, rows: 1);
            return Annotate(row, sw, sh, zLabels, [""]);
        }
        finally
        {
            foreach (var g in subGrids) g.Dispose();
        }
    }
}
