using SixLabors.ImageSharp.Processing;
using LoraBake.Evaluation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Evaluation;

public sealed class GridImageTests
{
    static readonly Rgb24 White = new(255, 255, 255), Black = new(0, 0, 0);

    [Fact]
    public void Font_covers_printable_ascii_with_distinct_glyphs()
    {
        var shapes = new HashSet<string>();
        for (var c = ' '; c <= '~'; c++)
        {
            var bits = string.Concat(Enumerable.Range(0, 5).SelectMany(col => Enumerable.Range(0, 8).Select(row => BitmapFont.Ink(c, col, row) ? '1' : '0')));
            Assert.True(c == ' ' || bits.Contains('1'), $"'{c}' has no ink");
            shapes.Add(bits);
        }
        Assert.Equal(95, shapes.Count);
    }

    [Fact]
    public void Label_draws_dark_pixels_in_its_area_and_different_text_differs()
    {
        using var a = SyntheticImages.Solid(200, 40, White);
        using var b = SyntheticImages.Solid(200, 40, White);
        BitmapFont.DrawLine(a, "Epoch: 3", 10, 10, 2, Black);
        BitmapFont.DrawLine(b, "Epoch: 8", 10, 10, 2, Black);
        var area = new Rectangle(10, 10, BitmapFont.MeasureWidth("Epoch: 3", 2), BitmapFont.MeasureHeight(2));
        Assert.True(SyntheticImages.DarkPixels(a, area) > 50);
        Assert.Equal(SyntheticImages.DarkPixels(a, new Rectangle(0, 0, 200, 40)), SyntheticImages.DarkPixels(a, area));
        Assert.NotEqual(ImageMetrics.ToRgb(a), ImageMetrics.ToRgb(b));
        // Only the last glyph differs.
        var lastGlyph = new Rectangle(10 + 7 * BitmapFont.Advance * 2, 10, BitmapFont.GlyphWidth * 2, 16);
        Assert.Equal(0, ImageMetrics.MeanAbsoluteDifference(Crop(a, new Rectangle(0, 0, lastGlyph.Left, 40)), Crop(b, new Rectangle(0, 0, lastGlyph.Left, 40))));
    }

    [Fact]
    public void Wrap_splits_words_and_breaks_long_ones()
    {
        var lines = BitmapFont.Wrap("one two three fourfivesixseven", 1, 6 * 9 - 1);   // 9 characters per line
        Assert.Equal(["one two", "three", "fourfives", "ixseven"], lines);
        Assert.All(lines, l => Assert.True(BitmapFont.MeasureWidth(l, 1) <= 53));
    }

    [Fact]
    public void Batch_grid_side_by_side_for_two_seeds_two_by_two_for_four()
    {
        var imgs = Enumerable.Range(0, 4).Select(i => SyntheticImages.Gradient(32, 24, i)).ToList();
        using var two = GridImage.ImageGrid(imgs.Take(2).ToList());
        Assert.Equal((64, 24), (two.Width, two.Height));
        using var four = GridImage.ImageGrid(imgs);
        Assert.Equal((64, 48), (four.Width, four.Height));
        Assert.Equal(imgs[3][5, 5], four[32 + 5, 24 + 5]);
        imgs.ForEach(i => i.Dispose());
    }

    [Fact]
    public void Annotate_follows_webui_layout()
    {
        const int w = 100, h = 150;   // font (100+150)//25 = 10, spacing 5, scale 1
        using var plain = new Image<Rgb24>(3 * w, 2 * h, new Rgb24(120, 120, 120));
        using var annotated = GridImage.Annotate(plain, w, h, ["Epoch: 1", "Epoch: 2", "Epoch: 3"], ["Weight: 0.5", "Weight: 1.0"]);
        var L = GridImage.Measure(w, h, ["Epoch: 1", "Epoch: 2", "Epoch: 3"], ["Weight: 0.5", "Weight: 1.0"]);
        Assert.Equal((10, 5, 1), (L.FontSize, L.LineSpacing, L.Scale));
        Assert.Equal(w * 3 / 4, L.PadLeft);
        Assert.Equal(8 + 2 * 5, L.PadTop);                       // one line of 8 px + 2·spacing
        Assert.Equal((3 * w + L.PadLeft, 2 * h + L.PadTop), (annotated.Width, annotated.Height));
        Assert.Equal(new Rgb24(120, 120, 120), annotated[L.PadLeft, L.PadTop]);
        // Column label ink above each column, row label ink left of each row.
        for (var c = 0; c < 3; c++)
            Assert.True(SyntheticImages.DarkPixels(annotated, new Rectangle(L.PadLeft + c * w, 0, w, L.PadTop)) > 20);
        for (var r = 0; r < 2; r++)
            Assert.True(SyntheticImages.DarkPixels(annotated, new Rectangle(0, L.PadTop + r * h, L.PadLeft, h)) > 20);

        // No row labels → no left pad; no column labels → no top pad.
        using var bare = GridImage.Annotate(plain, w, h, ["", "", ""], ["", ""]);
        Assert.Equal((3 * w, 2 * h), (bare.Width, bare.Height));
    }

    [Fact]
    public void Compose_XYZ_sub_grids_in_a_row_under_z_titles()
    {
        const int w = 64, h = 64;
        var cells = Enumerable.Range(0, 2 * 3 * 2).Select(i => SyntheticImages.Gradient(w, h, i)).ToList();
        using var grid = GridImage.Compose(cells, ["Baseline (no LoRA)", "Epoch: 1"], ["Weight: 0.5", "Weight: 0.75", "Weight: 1.0"], ["prompt one", "prompt two"]);
        var sub = GridImage.Measure(w, h, ["Baseline (no LoRA)", "Epoch: 1"], ["Weight: 0.5", "Weight: 0.75", "Weight: 1.0"]);
        int sw = 2 * w + sub.PadLeft, sh = 3 * h + sub.PadTop;
        var z = GridImage.Measure(sw, sh, ["prompt one", "prompt two"], [""]);
        Assert.Equal(0, z.PadLeft);
        Assert.Equal((2 * sw, sh + z.PadTop), (grid.Width, grid.Height));
        // Cell (x=1, y=2, z=1) lands at the second sub-grid's second column, third row.
        var cell = cells[1 + 2 * 2 + 1 * 6];
        Assert.Equal(cell[10, 10], grid[sw + sub.PadLeft + w + 10, z.PadTop + sub.PadTop + 2 * h + 10]);
        Assert.True(SyntheticImages.DarkPixels(grid, new Rectangle(sw, 0, sw, z.PadTop)) > 20);
        cells.ForEach(c => c.Dispose());
    }

    static Image<Rgb24> Crop(Image<Rgb24> img, Rectangle r)
    {
        var c = img.Clone();
        c.Mutate(x => x.Crop(r));
        return c;
    }
}
