using LoraBake.Diffusion;
using LoraBake.Runtime;

namespace LoraBake.Sampling;

/// <summary>
/// Samplers by the names users write: kohya-style ids (<c>euler_a</c>) or A1111 display names ("Euler a"),
/// case-insensitive. Each is configured as A1111 runs it for SD 1.x: DDIM with leading spacing + offset 1,
/// Euler / Euler a on k-diffusion's default σ schedule, DPM++ 2M on Karras σ.
/// </summary>
public static class SamplerRegistry
{
    sealed record Entry(string Id, string DisplayName, Func<NoiseSchedule, ISampler> Create);

    static readonly Entry[] Entries =
    [
        new("ddim", "DDIM", s => new DdimSampler(s)),
        new("euler", "Euler", s => new EulerSampler(s)),
        new("euler_a", "Euler a", s => new EulerAncestralSampler(s)),
        new("dpmpp_2m_karras", "DPM++ 2M Karras", s => new DpmPlusPlus2MKarrasSampler(s)),
    ];

    /// <summary>The ids, in the order they are listed to users.</summary>
    public static IReadOnlyList<string> Names { get; } = Entries.Select(e => e.Id).ToArray();

    /// <summary>A new sampler for <paramref name="name"/>. <paramref name="where"/> (e.g. "--sampler") prefixes the error.</summary>
    public static ISampler Create(string name, NoiseSchedule? schedule = null, string? where = null)
    {
        string key = name.Trim();
        var entry = Entries.FirstOrDefault(e => string.Equals(e.Id, key, StringComparison.OrdinalIgnoreCase)
                                                || string.Equals(e.DisplayName, key, StringComparison.OrdinalIgnoreCase));
        if (entry is null)
        {
            string valid = string.Join(", ", Entries.Select(e => $"{e.Id} (\"{e.DisplayName}\")"));
            string prefix = where is null ? "" : where + ": ";
            throw new UserError($"{prefix}unknown sampler '{name}'. Use one of: {valid}.");
        }
        return entry.Create(schedule ?? NoiseSchedule.StableDiffusion);
    }
}
