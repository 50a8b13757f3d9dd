using LoraBake.Diffusion;

namespace LoraBake.Sampling;

/// <summary>How σ is read between two integer timesteps of the training table.</summary>
public enum SigmaInterpolation
{
    /// <summary>Linear in σ (diffusers' Euler schedulers, <c>np.interp</c>).</summary>
    Linear,
    /// <summary>Linear in log σ (k-diffusion's <c>CompVisDenoiser.t_to_sigma</c>, used by A1111).</summary>
    Log,
}

/// <summary>
/// The discrete σ(t) = √((1−ᾱ)/ᾱ) table of a training schedule and the conversions σ-samplers need:
/// σ at a fractional timestep, the (fractional) timestep of a σ, and Karras σ spacing.
/// </summary>
public sealed class SigmaTable
{
    readonly float[] _sigmas;
    readonly float[] _logSigmas;

    public SigmaTable(NoiseSchedule schedule)
    {
        _sigmas = schedule.Sigmas.ToArray();
        _logSigmas = _sigmas.Select(s => (float)Math.Log(s)).ToArray();
    }

    public int Count => _sigmas.Length;
    /// <summary>σ at t = 0 (≈0.0292 for SD 1.x).</summary>
    public float SigmaMin => _sigmas[0];
    /// <summary>σ at t = T−1 (≈14.6146 for SD 1.x).</summary>
    public float SigmaMax => _sigmas[^1];

    public double SigmaAt(double t, SigmaInterpolation interpolation)
    {
        if (!(t >= 0 && t <= _sigmas.Length - 1)) throw new ArgumentOutOfRangeException(nameof(t), t, "timestep outside the training table");
        int low = (int)Math.Floor(t), high = (int)Math.Ceiling(t);
        if (low == high) return _sigmas[low];
        double w = t - low;
        return interpolation == SigmaInterpolation.Linear
            ? (_sigmas[high] - (double)_sigmas[low]) * w + _sigmas[low]
            : Math.Exp((1 - w) * _logSigmas[low] + w * _logSigmas[high]);
    }

    /// <summary>
    /// The fractional timestep whose log-interpolated σ equals <paramref name="sigma"/>, clamped to the table
    /// (k-diffusion <c>sigma_to_t</c>, diffusers <c>_sigma_to_t</c>).
    /// </summary>
    public double TimestepOf(double sigma)
    {
        double logSigma = Math.Log(Math.Max(sigma, 1e-10));
        // low = the last index whose log σ is ≤ log sigma (0 when none), at most T−2.
        int low = 0;
        for (int i = 0; i < _logSigmas.Length; i++) if (logSigma - _logSigmas[i] >= 0) low = i;
        low = Math.Min(low, _logSigmas.Length - 2);
        int high = low + 1;
        float lo = _logSigmas[low], hi = _logSigmas[high];
        double w = (lo - logSigma) / (float)(lo - hi);
        w = Math.Clamp(w, 0, 1);
        return (1 - w) * low + w * high;
    }

    /// <summary>Karras et al. (2022) spacing: (σmax^{1/ρ} + i/(n−1)·(σmin^{1/ρ} − σmax^{1/ρ}))^ρ, descending, no final zero.</summary>
    public static double[] Karras(double sigmaMin, double sigmaMax, int steps, double rho = 7.0)
    {
        var ramp = TimestepSpacings.Linspace(0, 1, steps);
        double minInvRho = Math.Pow(sigmaMin, 1 / rho), maxInvRho = Math.Pow(sigmaMax, 1 / rho);
        return ramp.Select(r => Math.Pow(maxInvRho + r * (minInvRho - maxInvRho), rho)).ToArray();
    }
}
