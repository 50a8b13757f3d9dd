using System.Globalization;
using System.Text;

namespace LoraBake.Evaluation;

/// <summary>
/// The `lorabake generate` command line that reproduces one render, for the report:
/// <c>lorabake generate --model MODEL --lora output/NAME/NAME-03.safetensors:0.8 --prompt "..." --negative "..."
/// --seed 1 --steps 20 --sampler euler_a --cfg 7 --width 512 --height 512 --out cell.png</c>
/// (no --lora for the baseline). Values are double-quoted for POSIX shells when they need it.
/// </summary>
public static class GenerateCommandLine
{
    /// <summary>kohya's epoch file name as the colab patches it: NAME-03.safetensors.</summary>
    public static string EpochFile(string projectName, int epoch) =>
        $"output/{projectName}/{projectName}-{epoch.ToString("00", CultureInfo.InvariantCulture)}.safetensors";

    /// <param name="precision">The precision the base model rendered in when not fp32 (bf16): `--precision`.</param>
    public static string For(string projectName, string model, RenderRequest r, string outFile, string? precision = null)
    {
        var sb = new StringBuilder("lorabake generate");
        sb.Append(" --model ").Append(Quote(model));
        if (r.Epoch is { } e) sb.Append(" --lora ").Append(Quote($"{EpochFile(projectName, e)}:{Num(r.Weight)}"));
        sb.Append(" --prompt ").Append(QuoteAlways(r.Prompt));
        sb.Append(" --negative ").Append(QuoteAlways(r.NegativePrompt));
        sb.Append(" --seed ").Append(r.Seed.ToString(CultureInfo.InvariantCulture));
        sb.Append(" --steps ").Append(r.Steps.ToString(CultureInfo.InvariantCulture));
        sb.Append(" --sampler ").Append(Quote(r.Sampler));
        sb.Append(" --cfg ").Append(Num(r.Cfg));
        sb.Append(" --width ").Append(r.Width.ToString(CultureInfo.InvariantCulture));
        sb.Append(" --height ").Append(r.Height.ToString(CultureInfo.InvariantCulture));
        if (precision is not null) sb.Append(" --precision ").Append(Quote(precision));
        sb.Append(" --out ").Append(Quote(outFile));
        return sb.ToString();
    }

    static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Bare when the value holds only safe characters, else double-quoted.</summary>
    static string Quote(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:+=@,".Contains(c)) ? s : QuoteAlways(s);

    /// <summary>Double quotes, with the characters special inside them (\ " $ `) escaped.</summary>
    public static string QuoteAlways(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            if (c is '\\' or '"' or '$' or '`') sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }
}
