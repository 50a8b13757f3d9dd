using LoraBake.Diffusion;
using LoraBake.Runtime;
using LoraBake.Sampling;

namespace LoraBake.Tests.Sampling;

public class SamplerRegistryTests
{
    [Theory]
    [InlineData("ddim", typeof(DdimSampler))]
    [InlineData("DDIM", typeof(DdimSampler))]
    [InlineData("euler", typeof(EulerSampler))]
    [InlineData("Euler", typeof(EulerSampler))]
    [InlineData("euler_a", typeof(EulerAncestralSampler))]
    [InlineData("Euler a", typeof(EulerAncestralSampler))]
    [InlineData("EULER A", typeof(EulerAncestralSampler))]
    [InlineData("dpmpp_2m_karras", typeof(DpmPlusPlus2MKarrasSampler))]
    [InlineData("DPM++ 2M Karras", typeof(DpmPlusPlus2MKarrasSampler))]
    [InlineData("dpm++ 2m karras", typeof(DpmPlusPlus2MKarrasSampler))]
    public void Names_and_webui_display_names_resolve(string name, Type type)
    {
        var sampler = SamplerRegistry.Create(name);
        Assert.IsType(type, sampler);
        Assert.Contains(sampler.Name, new[] { "DDIM", "Euler", "Euler a", "DPM++ 2M Karras" });
    }

    [Fact]
    public void Unknown_name_lists_the_valid_ones()
    {
        var e = Assert.Throws<UserError>(() => SamplerRegistry.Create("k_lms", where: "--sampler"));
        Assert.StartsWith("--sampler: unknown sampler 'k_lms'", e.Message);
        foreach (var n in new[] { "ddim", "euler", "euler_a", "dpmpp_2m_karras", "\"Euler a\"", "\"DPM++ 2M Karras\"" })
            Assert.Contains(n, e.Message);
    }

    [Fact]
    public void Webui_ddim_uses_leading_timesteps_with_offset_one()
    {
        // docs/kohya-compatibility.md, "Samplers": 20 steps → 1, 51, …, 951.
        var ddim = SamplerRegistry.Create("DDIM");
        ddim.SetTimesteps(20);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 951f - 50 * i), ddim.Timesteps);
        ddim.SetTimesteps(10);
        Assert.Equal(901f, ddim.Timesteps[0]);
        Assert.Equal(1f, ddim.Timesteps[^1]);
    }

    [Fact]
    public void Webui_karras_sigmas_for_20_steps()
    {
        // docs/kohya-compatibility.md, "Samplers": the derived 20-step Karras schedule with the model's σmin/σmax.
        double[] expected = [14.6146, 11.7254, 9.3402, 7.3836, 5.7894, 4.4998, 3.4647, 2.6408, 1.9909, 1.4832,
                             1.0908, 0.7909, 0.5647, 0.3964, 0.2730, 0.1842, 0.1213, 0.0779, 0.0485, 0.0292, 0];
        var dpm = SamplerRegistry.Create("dpmpp_2m_karras");
        dpm.SetTimesteps(20);
        Assert.Equal(expected.Length, dpm.Sigmas.Count);
        // The spec lists 4 decimals (not always rounded the same way): agree to 1e-4.
        for (int i = 0; i < expected.Length; i++) Assert.InRange(Math.Abs(expected[i] - dpm.Sigmas[i]), 0, 1e-4);
        Assert.Equal(999f, dpm.Timesteps[0]);
        Assert.All(dpm.Timesteps, t => Assert.Equal(MathF.Round(t), t));
        Assert.Equal(1f, dpm.InitNoiseSigma);
    }

    [Fact]
    public void Webui_euler_follows_k_diffusion_log_sigma_interpolation()
    {
        var table = new SigmaTable(NoiseSchedule.StableDiffusion);
        var euler = SamplerRegistry.Create("Euler a");
        euler.SetTimesteps(20);
        // t = linspace(999, 0, 20) are fractional; k-diffusion reads σ as exp of the interpolated log σ.
        Assert.Equal(999f, euler.Timesteps[0]);
        Assert.Equal(0f, euler.Timesteps[^1]);
        float t1 = euler.Timesteps[1];
        Assert.NotEqual(MathF.Round(t1), t1);
        double lo = Math.Log(table.SigmaAt(Math.Floor(t1), SigmaInterpolation.Linear));
        double hi = Math.Log(table.SigmaAt(Math.Ceiling(t1), SigmaInterpolation.Linear));
        double w = t1 - Math.Floor(t1);
        Assert.Equal(Math.Exp((1 - w) * lo + w * hi), euler.Sigmas[1], 5);
        Assert.NotEqual(table.SigmaAt(t1, SigmaInterpolation.Linear), euler.Sigmas[1], 5);
        Assert.Equal(euler.Sigmas[0], euler.InitNoiseSigma);
        Assert.Equal(0f, euler.Sigmas[^1]);
    }

    [Fact]
    public void Timestep_of_sigma_inverts_the_log_interpolation()
    {
        var table = new SigmaTable(NoiseSchedule.StableDiffusion);
        foreach (double t in new[] { 0.0, 3.25, 146.5, 500.0, 998.75 })
            Assert.Equal(t, table.TimestepOf(table.SigmaAt(t, SigmaInterpolation.Log)), 3);
    }

    [Fact]
    public void Multistep_sampler_refuses_steps_out_of_order()
    {
        using var x = TorchSharp.torch.zeros(1, 4, 2, 2);
        var dpm = new DpmPlusPlus2MKarrasSampler();
        dpm.SetTimesteps(5);
        Assert.Throws<InvalidOperationException>(() => dpm.Step(x, 1, x));
        Assert.Throws<InvalidOperationException>(() => new EulerSampler().Step(x, 0, x));
    }
}
