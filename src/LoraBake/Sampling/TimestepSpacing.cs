namespace LoraBake.Sampling;

/// <summary>How the inference timesteps are picked from the training ones (diffusers <c>timestep_spacing</c>).</summary>
public enum TimestepSpacing
{
    /// <summary>0, r, 2r, … (r = T // n) reversed, plus <c>steps_offset</c>: 901…1 for 10 steps (A1111's DDIM).</summary>
    Leading,
    /// <summary>linspace(0, T−1, n) reversed: 999…0 (k-diffusion's default schedule).</summary>
    Linspace,
    /// <summary>round(arange(T, 0, −T/n)) − 1: 999…99 for 10 steps.</summary>
    Trailing,
}

/// <summary>The timestep arrays diffusers' schedulers compute with numpy, reproduced in double precision.</summary>
internal static class TimestepSpacings
{
    /// <summary>
    /// Timesteps for <paramref name="steps"/> steps, descending. <paramref name="integer"/> rounds linspace
    /// (DDIM does, Euler keeps the fractions; callers cast to float32 as numpy does).
    /// </summary>
    public static double[] Compute(TimestepSpacing spacing, int numTrainTimesteps, int steps, int stepsOffset, bool integer)
    {
        if (steps < 1 || steps > numTrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"the number of steps must be between 1 and {numTrainTimesteps}");
        switch (spacing)
        {
            case TimestepSpacing.Leading:
            {
                int ratio = numTrainTimesteps / steps;
                var t = new double[steps];
                for (int i = 0; i < steps; i++) t[i] = (double)(steps - 1 - i) * ratio + stepsOffset;
                return t;
            }
            case TimestepSpacing.Linspace:
            {
                var t = Linspace(0, numTrainTimesteps - 1, steps);
                Array.Reverse(t);
                if (integer) for (int i = 0; i < t.Length; i++) t[i] = Math.Round(t[i], MidpointRounding.ToEven);
                return t;
            }
            case TimestepSpacing.Trailing:
            {
                double ratio = (double)numTrainTimesteps / steps;
                // np.arange(T, 0, -ratio): length ceil((0 - T) / -ratio), values T - k·ratio.
                int count = (int)Math.Ceiling((0.0 - numTrainTimesteps) / -ratio);
                var t = new double[count];
                for (int k = 0; k < count; k++) t[k] = Math.Round(numTrainTimesteps + k * -ratio, MidpointRounding.ToEven) - 1;
                return t;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(spacing), spacing, null);
        }
    }

    /// <summary>numpy.linspace(start, stop, num) with endpoint: start + i·step, last value exactly stop.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        var y = new double[num];
        if (num == 1) { y[0] = start; return y; }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) y[i] = i * step + start;
        y[num - 1] = stop;
        return y;
    }
}
