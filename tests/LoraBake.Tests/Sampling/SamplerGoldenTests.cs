using System.Text.Json;
using Xunit.Abstractions;
using LoraBake.Sampling;
using static TorchSharp.torch;

namespace LoraBake.Tests.Sampling;

/// <summary>
/// Every sampler against diffusers 0.27.2 step by step (goldens/samplers): timesteps, σ, init_noise_sigma,
/// model inputs, ε and latents after each of 10 steps.
/// Tolerance: |actual − expected| ≤ 1e-5 + 1e-6·|expected| elementwise (torch.allclose(rtol=1e-6, atol=1e-5)).
/// Both sides run the same float32 operations in the same order on bit-identical tables (betas, ᾱ and σ match
/// exactly), so what remains is the last-bit rounding of the float32 step coefficients (MathF vs torch's
/// sqrt/log/exp on 0-d tensors), compounded over 10 steps. The fake model grows the latents to |x| ≈ 30–48,
/// where one float32 ulp is 3.8e-6, so a pure 1e-5 absolute bound would be 2–3 ulp; measured worst cases are
/// 1.9e-6 (Euler), 2.9e-6 to 3.8e-6 (Euler a), 6.7e-6 (DDIM trailing), 1.34e-5 at |x| ≈ 31.5 (DPM++ 2M,
/// ≈ 4e-7 relative).
/// </summary>
public class SamplerGoldenTests(ITestOutputHelper output)
{
    const double AbsoluteTolerance = 1e-5;
    const double RelativeTolerance = 1e-6;

    public static TheoryData<string> Files => new()
    {
        "ddim_leading_eta0", "ddim_trailing_eta0", "euler_linspace", "euler_leading",
        "euler_a_linspace", "euler_a_leading", "dpmpp_2m_karras",
    };

    /// <summary>The sampler diffusers ran, read from the file's scheduler config.</summary>
    internal static ISampler FromMetadata(Dictionary<string, string> metadata)
    {
        using var config = JsonDocument.Parse(metadata["scheduler_config"]);
        var spacing = config.RootElement.GetProperty("timestep_spacing").GetString() switch
        {
            "leading" => TimestepSpacing.Leading,
            "linspace" => TimestepSpacing.Linspace,
            "trailing" => TimestepSpacing.Trailing,
            var s => throw new NotSupportedException(s),
        };
        int offset = config.RootElement.GetProperty("steps_offset").GetInt32();
        return metadata["scheduler_class"] switch
        {
            "DDIMScheduler" => new DdimSampler(spacing: spacing, stepsOffset: offset),
            // diffusers interpolates σ linearly (interpolation_type "linear").
            "EulerDiscreteScheduler" => new EulerSampler(spacing: spacing, interpolation: SigmaInterpolation.Linear, stepsOffset: offset),
            "EulerAncestralDiscreteScheduler" => new EulerAncestralSampler(spacing: spacing, interpolation: SigmaInterpolation.Linear, stepsOffset: offset),
            "DPMSolverMultistepScheduler" => new DpmPlusPlus2MKarrasSampler(),
            var s => throw new NotSupportedException(s),
        };
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Schedule_matches_diffusers(string file)
    {
        var (g, metadata) = GoldenTensors.Load(GoldensFolder.File("samplers", file + ".safetensors"));
        try
        {
            var sampler = FromMetadata(metadata);
            sampler.SetTimesteps(int.Parse(metadata["num_inference_steps"]));
            Assert.Equal(g["timesteps"].data<float>().ToArray(), sampler.Timesteps.ToArray());
            if (g.TryGetValue("sigmas", out var sigmas))
            {
                var expected = sigmas.data<float>().ToArray();
                Assert.Equal(expected.Length, sampler.Sigmas.Count);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(Math.Abs(expected[i] - sampler.Sigmas[i]) <= 1e-6 * Math.Max(1, expected[i]), $"sigma {i}: {expected[i]} vs {sampler.Sigmas[i]}");
            }
            else Assert.Empty(sampler.Sigmas);
            Assert.Equal(g["init_noise_sigma"].item<float>(), sampler.InitNoiseSigma, 1e-6f);
        }
        finally { GoldenTensors.DisposeAll(g); }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_step_matches_diffusers(string file)
    {
        var (g, metadata) = GoldenTensors.Load(GoldensFolder.File("samplers", file + ".safetensors"));
        using var scope = NewDisposeScope();
        try
        {
            var sampler = FromMetadata(metadata);
            sampler.SetTimesteps(10);
            var c = g["fake_model_c"];
            // The reference draws x_init from torch.Generator seeded 11, then one more tensor of the same shape,
            // then (Euler a) the per-step noise: reproduce those draws rather than inject them.
            using var generator = new Generator(11);
            var xInit = randn(c.shape, generator: generator);
            Assert.Equal(0.0, GoldenTensors.MaxAbsDiff(xInit, g["x_init"]));
            randn(c.shape, generator: generator).Dispose();

            var latents = xInit * sampler.InitNoiseSigma;
            Check(latents, g["latents"][0], $"{file} initial latents");
            double worst = 0;
            for (int i = 0; i < 10; i++)
            {
                var modelInput = sampler.ScaleModelInput(latents, i);
                worst = Math.Max(worst, Check(modelInput, g["model_inputs"][i], $"{file} model_input {i}"));
                var eps = FakeGoldenModel.Eps(modelInput, sampler.Timesteps[i], c);
                worst = Math.Max(worst, Check(eps, g["eps"][i], $"{file} eps {i}"));
                latents = sampler.Step(eps, i, latents, NoiseGenerators.Of(generator));
                worst = Math.Max(worst, Check(latents, g["latents"][i + 1], $"{file} latents {i + 1}"));
            }
            output.WriteLine($"{file}: worst |diff| over all steps {worst:E2}");
        }
        finally { GoldenTensors.DisposeAll(g); }
    }

    [Theory]
    [InlineData("euler_a_linspace")]
    [InlineData("euler_a_leading")]
    public void Euler_ancestral_with_the_golden_noise_injected_matches(string file)
    {
        var (g, metadata) = GoldenTensors.Load(GoldensFolder.File("samplers", file + ".safetensors"));
        using var scope = NewDisposeScope();
        try
        {
            var sampler = (EulerAncestralSampler)FromMetadata(metadata);
            sampler.SetTimesteps(10);
            var latents = g["x_init"] * sampler.InitNoiseSigma;
            for (int i = 0; i < 10; i++)
            {
                var eps = FakeGoldenModel.Eps(sampler.ScaleModelInput(latents, i), sampler.Timesteps[i], g["fake_model_c"]);
                latents = sampler.StepWithNoise(eps, i, latents, g["ancestral_noise"][i]);
                Check(latents, g["latents"][i + 1], $"{file} latents {i + 1}");
            }
        }
        finally { GoldenTensors.DisposeAll(g); }
    }

    static double Check(Tensor actual, Tensor expected, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var scope = NewDisposeScope();
        var e = expected.to(ScalarType.Float64);
        var diff = (actual.to(ScalarType.Float64) - e).abs();
        var excess = (diff - (AbsoluteTolerance + RelativeTolerance * e.abs())).max().item<double>();
        double worst = diff.max().item<double>();
        Assert.True(excess <= 0, $"{what}: max |diff| {worst:E2} exceeds {AbsoluteTolerance:E0} + {RelativeTolerance:E0}·|expected|");
        return worst;
    }
}
