using System.Globalization;
using System.Text;
using LoraBake.Pipeline;
using LoraBake.Runtime;

namespace LoraBake.Evaluation;

/// <summary>One training step as output/NAME/loss.csv records it.</summary>
/// <param name="LrUnet">The UNet group's learning rate at this step.</param>
/// <param name="LrTe">The text encoder group's learning rate (0 when the text encoder is not trained).</param>
/// <param name="Timesteps">The diffusion timesteps sampled for the step's batch (written space-separated in one field).</param>
public sealed record LossRow(long Step, int Epoch, double Loss, double LrUnet, double LrTe, IReadOnlyList<int> Timesteps)
{
    public bool Equals(LossRow? other) => other is not null && Step == other.Step && Epoch == other.Epoch && Loss.Equals(other.Loss)
        && LrUnet.Equals(other.LrUnet) && LrTe.Equals(other.LrTe) && Timesteps.SequenceEqual(other.Timesteps);

    public override int GetHashCode() => HashCode.Combine(Step, Epoch, Loss, LrUnet, LrTe, Timesteps.Count);
}

/// <summary>
/// output/NAME/loss.csv: header `step,epoch,loss,lr_unet,lr_te,timestep`, one row per step, numbers in invariant
/// culture with round-trip precision (a NaN loss is written `nan`, as Python writes it); the timestep field
/// holds the batch's timesteps separated by spaces, as the epoch trainer writes them. Every write rewrites the
/// whole file atomically, so a crash leaves the previous version.
/// </summary>
public static class LossLog
{
    public const string Header = "step,epoch,loss,lr_unet,lr_te,timestep";

    public static IReadOnlyList<LossRow> Read(string path)
    {
        if (!File.Exists(path)) return [];
        var rows = new List<LossRow>();
        var lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (lineNo == 1)
            {
                if (line.Trim() != Header)
                    throw new UserError($"{path}, line 1: expected the header \"{Header}\", found \"{line}\". Delete the file to start a new log.");
                continue;
            }
            if (line.Trim().Length == 0) continue;
            var f = line.Split(',');
            try
            {
                if (f.Length != 6) throw new FormatException($"{f.Length} fields instead of 6");
                rows.Add(new LossRow(long.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture),
                    Num(f[2]), Num(f[3]), Num(f[4]),
                    f[5].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray()));
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw new UserError($"{path}, line {lineNo}: \"{line}\" is not a loss row ({e.Message}). Expected {Header}; "
                    + "fix or delete the line.", inner: e);
            }
        }
        return rows;
    }

    /// <summary>Replaces the file with exactly these rows.</summary>
    public static void Write(string path, IEnumerable<LossRow> rows)
    {
        var sb = new StringBuilder(Header).Append('\n');
        foreach (var r in rows)
            sb.Append(r.Step.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.Epoch.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(Fmt(r.Loss)).Append(',').Append(Fmt(r.LrUnet)).Append(',').Append(Fmt(r.LrTe)).Append(',')
              .Append(string.Join(' ', r.Timesteps.Select(t => t.ToString(CultureInfo.InvariantCulture)))).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>
    /// Adds rows after the existing ones. Existing rows at or after the first new step are dropped first: a run
    /// resumed from an earlier epoch repeats those steps, and the new values replace the old.
    /// </summary>
    public static void Append(string path, IReadOnlyList<LossRow> rows)
    {
        if (rows.Count == 0) return;
        var first = rows[0].Step;
        Write(path, Read(path).Where(r => r.Step < first).Concat(rows));
    }

    static string Fmt(double v) => double.IsNaN(v) ? "nan" : double.IsInfinity(v) ? (v > 0 ? "inf" : "-inf") : v.ToString("R", CultureInfo.InvariantCulture);

    static double Num(string s) => s.Trim().ToLowerInvariant() switch
    {
        "nan" => double.NaN,
        "inf" or "infinity" => double.PositiveInfinity,
        "-inf" or "-infinity" => double.NegativeInfinity,
        var t => double.Parse(t, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
