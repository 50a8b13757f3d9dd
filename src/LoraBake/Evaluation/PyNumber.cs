using System.Globalization;

namespace LoraBake.Evaluation;

/// <summary>Numbers printed as Python's str() prints them (webui labels are Python f-strings): 1.0, 0.5, 3.</summary>
public static class PyNumber
{
    public static string Float(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        var s = v.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.') || s.Contains('E') ? s : s + ".0";
    }

    public static string Int(long v) => v.ToString(CultureInfo.InvariantCulture);
}
