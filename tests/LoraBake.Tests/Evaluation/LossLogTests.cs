using LoraBake.Evaluation;
using LoraBake.Runtime;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.Evaluation;

public sealed class LossLogTests : IDisposable
{
    readonly TempFolder _dir = new("lossl-");
    public void Dispose() => _dir.Dispose();

    public static IReadOnlyList<LossRow> Synthetic(int steps, int perEpoch = 25) => Enumerable.Range(1, steps).Select(i =>
        new LossRow(i, (i - 1) / perEpoch + 1, 0.15 + 0.1 * Math.Exp(-i / 40.0) + 0.04 * Math.Sin(i * 1.7),
            5e-4 * (0.5 + 0.5 * Math.Cos(Math.PI * i / steps)), 1e-4 * (0.5 + 0.5 * Math.Cos(Math.PI * i / steps)), [i * 37 % 1000, i * 91 % 1000])).ToList();

    [Fact]
    public void Write_read_round_trips_including_NaN()
    {
        var path = Path.Combine(_dir, "loss.csv");
        var rows = Synthetic(10).Append(new LossRow(11, 1, double.NaN, 1e-4, 0, [999])).ToList();
        LossLog.Write(path, rows);
        var text = File.ReadAllText(path);
        Assert.StartsWith("step,epoch,loss,lr_unet,lr_te,timestep\n1,1,", text);
        Assert.Contains(",nan,", text);
        var back = LossLog.Read(path);
        Assert.Equal(rows.Count, back.Count);
        Assert.Equal(rows[3], back[3]);
        Assert.True(double.IsNaN(back[10].Loss));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Reads_the_epoch_trainers_output()
    {
        var path = Path.Combine(_dir, "loss.csv");
        File.WriteAllText(path, LoraBake.Training.EpochTrainer.LossHeader + "1,1,0.125,0.0005,0.0001,532 17\n2,1,0.25,0.0005,0.0001,9 800\n");
        var rows = LossLog.Read(path);
        Assert.Equal(new LossRow(1, 1, 0.125, 5e-4, 1e-4, [532, 17]), rows[0]);
        Assert.Equal([9, 800], rows[1].Timesteps);
    }

    [Fact]
    public void Append_after_resume_replaces_repeated_steps()
    {
        var path = Path.Combine(_dir, "loss.csv");
        LossLog.Append(path, Synthetic(30));
        var redo = Synthetic(40).Skip(25).Select(r => r with { Loss = 9 }).ToList();   // resumed from step 25
        LossLog.Append(path, redo);
        var back = LossLog.Read(path);
        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), back.Select(r => r.Step));
        Assert.Equal(9, back[25].Loss);
        Assert.NotEqual(9, back[24].Loss);
    }

    [Fact]
    public void Bad_file_is_user_error_naming_file_and_line()
    {
        var path = Path.Combine(_dir, "loss.csv");
        File.WriteAllText(path, "step,epoch,loss,lr_unet,lr_te,timestep\n1,1,0.1,1e-4,0,5\n2,1,zero,1e-4,0,5\n");
        var e = Assert.Throws<UserError>(() => LossLog.Read(path));
        Assert.Contains("line 3", e.Message);
        Assert.Contains(path, e.Message);
        File.WriteAllText(path, "a,b\n");
        Assert.Contains("header", Assert.Throws<UserError>(() => LossLog.Read(path)).Message);
    }

    [Fact]
    public void Ema_is_debiased()
    {
        var e = LossChart.Ema([1.0, 1.0, double.NaN, 1.0]);
        Assert.All(e, v => Assert.Equal(1.0, v, 12));
        var f = LossChart.Ema([0.0, 1.0]);
        Assert.Equal(0.1 / (1 - 0.81), f[1], 12);
    }

    [Fact]
    public void Chart_draws_lines_and_svg_has_series()
    {
        var rows = Synthetic(100);
        using var png = LossChart.Render(rows);
        Assert.Equal((LossChart.Width, LossChart.Height), (png.Width, png.Height));
        int ema = 0, lr = 0;
        for (var y = 0; y < png.Height; y++)
            for (var x = 0; x < png.Width; x++)
            {
                var p = png[x, y];
                if (p == new Rgb24(20, 70, 160)) ema++;
                if (p == new Rgb24(230, 120, 20)) lr++;
            }
        Assert.True(ema > 300, $"EMA pixels {ema}");
        Assert.True(lr > 300, $"LR pixels {lr}");
        var path = Path.Combine(_dir, "loss.png");
        LoraBake.Sampling.PngFile.Save(png, path, parameters: null);
        using (var back = SixLabors.ImageSharp.Image.Load<Rgb24>(path))
            Assert.Equal(png[LossChart.Width / 2, LossChart.Height / 2], back[LossChart.Width / 2, LossChart.Height / 2]);
        var svg = LossChart.Svg(rows);
        Assert.StartsWith("<svg", svg);
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Matches(svg, "<polyline fill=\"none\" stroke=\"#").Count - 1);
        Assert.DoesNotContain("http", svg);
    }
}
