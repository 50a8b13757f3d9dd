using LoraBake.Diffusion;
using LoraBake.Tests.Sampling;
using static TorchSharp.torch;

namespace LoraBake.Tests.Diffusion;

/// <summary>The SD 1.x DDPM schedule and min-SNR weights against diffusers / kohya (goldens/common).</summary>
public class NoiseScheduleTests
{
    static readonly NoiseSchedule Schedule = NoiseSchedule.StableDiffusion;

    [Fact]
    public void Betas_and_alphas_cumprod_match_diffusers_bit_for_bit()
    {
        var (g, _) = GoldenTensors.Load(GoldensFolder.File("common", "ddpm.safetensors"));
        try
        {
            Assert.Equal(g["betas"].data<float>().ToArray(), Schedule.Betas.ToArray());
            Assert.Equal(g["alphas_cumprod"].data<float>().ToArray(), Schedule.AlphasCumprod.ToArray());
        }
        finally { GoldenTensors.DisposeAll(g); }
    }

    [Fact]
    public void Add_noise_matches_diffusers_per_sample_timestep()
    {
        var (g, _) = GoldenTensors.Load(GoldensFolder.File("common", "ddpm.safetensors"));
        try
        {
            Assert.Equal(new long[] { 0, 1, 500, 999 }, g["add_noise_timesteps"].data<long>().ToArray());
            using var noisy = Schedule.AddNoise(g["add_noise_x0"], g["add_noise_noise"], g["add_noise_timesteps"]);
            double d = GoldenTensors.MaxAbsDiff(noisy, g["add_noise_result"]);
            Assert.True(d <= 1e-6, $"add_noise max |diff| {d:E2}");
        }
        finally { GoldenTensors.DisposeAll(g); }
    }

    [Fact]
    public void Derived_sigmas_and_snr_are_the_documented_values()
    {
        // docs/kohya-compatibility.md, "Training step math": σ from 0.0292 (t=0) to 14.6146 (t=999); SNR 1175.5 → 0.00468; SNR < 5 from t=147.
        Assert.Equal(0.0292, Schedule.Sigmas[0], 4);
        Assert.Equal(14.6146, Schedule.Sigmas[999], 4);
        Assert.InRange(Schedule.Snr[0], 1175f, 1176f);
        Assert.Equal(0.00468, Schedule.Snr[999], 5);
        Assert.True(Schedule.Snr[146] >= 5 && Schedule.Snr[147] < 5);
    }

    [Fact]
    public void Velocity_target_is_sqrt_alpha_noise_minus_sqrt_one_minus_alpha_x0()
    {
        using var x0 = ones(2, 1, 2, 2);
        using var noise = full(new long[] { 2, 1, 2, 2 }, 2f);
        using var t = tensor(new long[] { 0, 999 });
        using var v = Schedule.GetVelocity(x0, noise, t);
        for (int i = 0; i < 2; i++)
        {
            double a = Schedule.AlphasCumprod[i == 0 ? 0 : 999];
            Assert.Equal(Math.Sqrt(a) * 2 - Math.Sqrt(1 - a), v[i, 0, 0, 0].item<float>(), 5);
        }
    }

    [Fact]
    public void Snr_and_min_snr_weights_match_kohya()
    {
        var (g, _) = GoldenTensors.Load(GoldensFolder.File("common", "snr.safetensors"));
        try
        {
            AssertClose(g["snr"].data<float>().ToArray(), Schedule.Snr, 0, 2e-6, "snr");
            var t = g["timesteps"];
            using var eps = MinSnr.Weights(t, 5);
            using var vpred = MinSnr.Weights(t, 5, vPrediction: true);
            AssertClose(g["min_snr_gamma5_weight_eps"].data<float>().ToArray(), eps.data<float>().ToArray(), 0, 2e-6, "eps weights");
            AssertClose(g["min_snr_gamma5_weight_vpred"].data<float>().ToArray(), vpred.data<float>().ToArray(), 0, 2e-6, "v weights");
            Assert.Equal(1f, eps[999].item<float>());
            Assert.True(eps[0].item<float>() < 0.005f);
        }
        finally { GoldenTensors.DisposeAll(g); }
    }

    [Fact]
    public void Min_snr_rejects_a_non_positive_gamma()
    {
        using var t = tensor(new long[] { 10 });
        Assert.Throws<ArgumentOutOfRangeException>(() => MinSnr.Weights(t, 0));
    }

    static void AssertClose(float[] expected, IReadOnlyList<float> actual, double abs, double rel, string what)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(expected[i] - actual[i]);
            Assert.True(d <= abs + rel * Math.Abs(expected[i]), $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }
}
