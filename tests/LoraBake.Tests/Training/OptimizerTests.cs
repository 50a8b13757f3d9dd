using LoraBake.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Tests.Training;

/// <summary>
/// Each optimizer against its published update rule, evaluated here in plain double arithmetic on a
/// 3-element parameter over 3 steps with fixed gradients.
/// </summary>
public class OptimizerTests
{
    private static readonly double[] P0 = { 1.0, -2.0, 0.5 };
    private static readonly double[][] Grads = { new[] { 0.3, -0.1, 0.0 }, new[] { -0.2, 0.4, 0.05 }, new[] { 0.1, 0.1, -0.3 } };

    private static Parameter NewParam(double[] values) =>
        new(tensor(values.Select(v => (float)v).ToArray()), requires_grad: true);

    /// <summary>Sets p.grad = g through autograd: d/dp Σ p·g = g.</summary>
    private static void SetGrad(NetworkOptimizer opt, Parameter p, double[] g)
    {
        opt.ZeroGrad();
        using var c = tensor(g.Select(v => (float)v).ToArray());
        using var loss = (p * c).sum();
        loss.backward();
    }

    private static double[] Values(Tensor t) => t.data<float>().Select(v => (double)v).ToArray();

    private static void AssertClose(double[] expected, double[] actual, double tol)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1, Math.Abs(expected[i])),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Fact]
    public void AdamW_matches_torch_update_rule()
    {
        const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        using var p = NewParam(P0);
        using var opt = new AdamWOptimizer(new[] { new NetworkParamGroup("unet", new[] { p }, lr) }, b1, b2, eps, wd);
        var x = (double[])P0.Clone();
        var m = new double[3];
        var v = new double[3];
        for (int t = 1; t <= 3; t++)
        {
            var g = Grads[t - 1];
            SetGrad(opt, p, g);
            opt.Step();
            for (int i = 0; i < 3; i++)
            {
                x[i] *= 1 - lr * wd;                        // decoupled decay
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.Pow(b1, t));
                double vHat = v[i] / (1 - Math.Pow(b2, t));
                x[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);   // eps outside the root
            }
            AssertClose(x, Values(p), 2e-6);
        }
        // Step 1, element 0 by hand: 1·(1 − 0.01) − 0.1·(0.03/0.1)/(√(9e-5/0.001) + 1e-8) = 0.99 − 0.1 = 0.89.
        Assert.True(Math.Abs(x[0] - 0.89) > 1e-3); // (after 3 steps it has moved on; the loop checked every step)
    }

    [Fact]
    public void AdamW_first_step_by_hand()
    {
        using var p = NewParam(P0);
        using var opt = new AdamWOptimizer(new[] { new NetworkParamGroup("unet", new[] { p }, 0.1) }, weightDecay: 0.1);
        SetGrad(opt, p, Grads[0]);
        opt.Step();
        // m̂ = g, v̂ = g², so the step is lr·sign(g) (≈, eps aside); g = 0 leaves only the decay.
        AssertClose(new[] { 0.99 - 0.1, -1.98 + 0.1, 0.495 }, Values(p), 1e-6);
    }

    [Fact]
    public void Lion_matches_lion_pytorch_update_rule()
    {
        const double lr = 0.01, b1 = 0.9, b2 = 0.99, wd = 0.5;
        using var p = NewParam(P0);
        using var opt = new LionOptimizer(new[] { new NetworkParamGroup("unet", new[] { p }, lr) }, b1, b2, wd);
        var x = (double[])P0.Clone();
        var m = new double[3];
        for (int t = 0; t < 3; t++)
        {
            var g = Grads[t];
            SetGrad(opt, p, g);
            opt.Step();
            for (int i = 0; i < 3; i++)
            {
                double update = Math.Sign(b1 * m[i] + (1 - b1) * g[i]);
                x[i] -= lr * (update + wd * x[i]);
                m[i] = b2 * m[i] + (1 - b2) * g[i];
            }
            AssertClose(x, Values(p), 1e-6);
        }
        // Step 1 by hand, element 0: 1 − 0.01·(1 + 0.5) = 0.985; element 2 (g = 0, sign 0): 0.5 − 0.01·0.25 = 0.4975.
    }

    [Fact]
    public void Lion_first_step_by_hand()
    {
        using var p = NewParam(P0);
        using var opt = new LionOptimizer(new[] { new NetworkParamGroup("unet", new[] { p }, 0.01) }, weightDecay: 0.5);
        SetGrad(opt, p, Grads[0]);
        opt.Step();
        AssertClose(new[] { 0.985, -2.0 + 0.01 * (1 + 0.5 * 2.0), 0.4975 }, Values(p), 1e-6);
    }

    /// <summary>Prodigy's algorithm (prodigyopt 1.0) on two parameters in one group, in double.</summary>
    [Theory]
    [InlineData(false, false, 0.0)]
    [InlineData(true, true, 0.1)]
    public void Prodigy_matches_reference_algorithm(bool biasCorrection, bool safeguard, double wd)
    {
        const double lr = 1.0, b1 = 0.9, b2 = 0.999, eps = 1e-8, d0 = 1e-2, dCoef = 2.0;
        double b3 = Math.Sqrt(b2);
        double[][] start = { P0, new[] { 0.25, -0.75 } };
        double[][][] grads =
        {
            // Gradients keep their signs, so the parameters move against them and d grows.
            new[] { new[] { 0.3, -0.1, 0.2 }, new[] { 0.5, -0.5 } },
            new[] { new[] { 0.25, -0.15, 0.1 }, new[] { 0.4, -0.6 } },
            new[] { new[] { 0.35, -0.05, 0.3 }, new[] { 0.6, -0.3 } },
        };
        using var pa = NewParam(start[0]);
        using var pb = NewParam(start[1]);
        using var opt = new ProdigyOptimizer(new[] { new NetworkParamGroup("unet", new[] { pa, pb }, lr) }, b1, b2, null, eps, wd,
            decouple: true, useBiasCorrection: biasCorrection, safeguardWarmup: safeguard, d0: d0, dCoef: dCoef);

        var x = start.Select(a => (double[])a.Clone()).ToArray();
        var x0 = start.Select(a => (double[])a.Clone()).ToArray();
        var m = start.Select(a => new double[a.Length]).ToArray();
        var v = start.Select(a => new double[a.Length]).ToArray();
        var s = start.Select(a => new double[a.Length]).ToArray();
        double d = d0, dMax = d0, num = 0;
        for (int k = 0; k < 3; k++)
        {
            opt.ZeroGrad();
            foreach (var (p, j) in new[] { (pa, 0), (pb, 1) })
            {
                using var c = tensor(grads[k][j].Select(q => (float)q).ToArray());
                using var loss = (p * c).sum();
                loss.backward();
            }
            opt.Step();

            double bc = biasCorrection ? Math.Sqrt(1 - Math.Pow(b2, k + 1)) / (1 - Math.Pow(b1, k + 1)) : 1.0;
            double dlr = d * lr * bc;
            num *= b3;
            double den = 0;
            for (int j = 0; j < 2; j++)
            {
                var g = grads[k][j];
                for (int i = 0; i < g.Length; i++)
                {
                    num += (d / d0) * dlr * g[i] * (x0[j][i] - x[j][i]);
                    m[j][i] = b1 * m[j][i] + d * (1 - b1) * g[i];
                    v[j][i] = b2 * v[j][i] + d * d * (1 - b2) * g[i] * g[i];
                    s[j][i] = b3 * s[j][i] + (safeguard ? (d / d0) * d : (d / d0) * dlr) * g[i];
                    den += Math.Abs(s[j][i]);
                }
            }
            double dHat = dCoef * num / den;
            if (d == d0) d = Math.Max(d, dHat);
            dMax = Math.Max(dMax, dHat);
            d = Math.Min(dMax, d * double.PositiveInfinity);   // growth_rate = inf, so d = d_max
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < x[j].Length; i++)
                {
                    x[j][i] -= wd * dlr * x[j][i];
                    x[j][i] -= dlr * m[j][i] / (Math.Sqrt(v[j][i]) + d * eps);
                }
            Assert.Equal(d, opt.D, 1e-5 * d);
            AssertClose(x[0], Values(pa), 1e-5);
            AssertClose(x[1], Values(pb), 1e-5);
        }
        Assert.Equal(3, opt.K);
        // Without the safeguard the estimate grows on these consistent gradients (with it, d stays at d0 here).
        if (!safeguard) Assert.True(opt.D > 10 * d0, "d should have grown from d0 by the third step");
    }

    [Fact]
    public void Zero_lr_group_is_dropped()
    {
        using var pa = NewParam(P0);
        using var pb = NewParam(P0);
        using var opt = new AdamWOptimizer(new[] { new NetworkParamGroup("text_encoder", new[] { pa }, 0.0), new NetworkParamGroup("unet", new[] { pb }, 1e-3) });
        Assert.Single(opt.Groups);
        Assert.Equal("unet", opt.Groups[0].Name);
    }

    [Theory]
    [InlineData("AdamW")]
    [InlineData("Lion")]
    [InlineData("Prodigy")]
    public void State_round_trip_resumes_bit_identically(string type)
    {
        double lr = type == "Prodigy" ? 1.0 : 1e-2;
        var args = new OptimizerArgs(type == "Prodigy" ? new[] { "d0=0.01", "use_bias_correction=True" } : Array.Empty<string>());
        using var pa = NewParam(P0);
        using var opt = OptimizerFactory.Create(type, new[] { new NetworkParamGroup("unet", new[] { pa }, lr) }, args);
        for (int k = 0; k < 2; k++) { SetGrad(opt, pa, Grads[k]); opt.Step(); }
        var (tensors, json) = opt.SaveState();

        using var pb = NewParam(Values(pa));
        var args2 = new OptimizerArgs(type == "Prodigy" ? new[] { "d0=0.01", "use_bias_correction=True" } : Array.Empty<string>());
        using var resumed = OptimizerFactory.Create(type, new[] { new NetworkParamGroup("unet", new[] { pb }, lr) }, args2);
        resumed.LoadState(tensors, json);
        foreach (var t in tensors.Values) t.Dispose();

        SetGrad(opt, pa, Grads[2]); opt.Step();
        SetGrad(resumed, pb, Grads[2]); resumed.Step();
        Assert.Equal(pa.data<float>().ToArray(), pb.data<float>().ToArray());

        var (t1, j1) = opt.SaveState();
        var (t2, j2) = resumed.SaveState();
        Assert.Equal(j1, j2);
        Assert.Equal(t1.Keys.OrderBy(k => k), t2.Keys.OrderBy(k => k));
        Assert.NotEmpty(t1);
        foreach (var key in t1.Keys) Assert.Equal(t1[key].data<float>().ToArray(), t2[key].data<float>().ToArray());
    }

    [Fact]
    public void Optimizer_args_parse_python_literals()
    {
        var a = new OptimizerArgs(new[] { "weight_decay=0.1", "betas=[0.9,0.99]", "d_coef=2", "decouple=True", "beta3=None", "eps=(1e-8)" });
        Assert.Equal(0.1, a.GetDouble("weight_decay", 0));
        Assert.Equal((0.9, 0.99), a.GetPair("betas", (0, 0)));
        Assert.Equal(2.0, a.GetDouble("d_coef", 1));
        Assert.True(a.GetBool("decouple", false));
        Assert.Null(a.GetNullableDouble("beta3", 0.5));
        Assert.Throws<LoraBake.Runtime.UserError>(() => a.EnsureAllUsed("Prodigy"));   // eps=(1e-8) is a 1-tuple? no: a parenthesised number
        Assert.Throws<LoraBake.Runtime.UserError>(() => new OptimizerArgs(new[] { "betas=[0.9," }));
        Assert.Throws<LoraBake.Runtime.UserError>(() => new OptimizerArgs(new[] { "decouple=true" }));
        Assert.Throws<LoraBake.Runtime.UserError>(() => new OptimizerArgs(new[] { "weight_decay=0.1" }).GetBool("weight_decay", false));
    }

    [Fact]
    public void Factory_builds_each_type_and_maps_AdamW8bit_to_AdamW_with_a_warning()
    {
        using var p = NewParam(P0);
        var warnings = new List<string>();
        using var a8 = OptimizerFactory.Create("AdamW8bit", new[] { new NetworkParamGroup("unet", new[] { p }, 1e-4) },
            new OptimizerArgs(new[] { "weight_decay=0.1" }), warnings.Add);
        Assert.IsType<AdamWOptimizer>(a8);
        Assert.Equal(0.1, ((AdamWOptimizer)a8).WeightDecay);
        Assert.Single(warnings);
        using var lion = OptimizerFactory.Create("lion", new[] { new NetworkParamGroup("unet", new[] { p }, 1e-4) }, new OptimizerArgs(new[] { "betas=[0.95,0.98]" }));
        Assert.Equal(0.95, ((LionOptimizer)lion).Beta1);
        Assert.Throws<LoraBake.Runtime.UserError>(() => OptimizerFactory.Create("Prodigy", new[] { new NetworkParamGroup("unet", new[] { p }, 1.0) },
            new OptimizerArgs(new[] { "d_coeff=2" })));
        Assert.Throws<LoraBake.Runtime.UserError>(() => OptimizerFactory.Create("Prodigy",
            new[] { new NetworkParamGroup("unet", new[] { p }, 1.0), new NetworkParamGroup("te", new[] { p }, 0.5) }, OptimizerArgs.Empty));
    }
}
