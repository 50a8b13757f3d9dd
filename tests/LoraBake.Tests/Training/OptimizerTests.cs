using LoraBake.Networks;
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
    [InlineData("DAdaptAdam")]
    [InlineData("DAdaptLion")]
    [InlineData("AdaFactor")]
    [InlineData("SGDNesterov")]
    [InlineData("AdamW8bit")]
    public void State_round_trip_resumes_bit_identically(string type)
    {
        double lr = type is "Prodigy" or "DAdaptAdam" or "DAdaptLion" ? 1.0 : 1e-2;
        var args = new OptimizerArgs(type == "Prodigy" ? new[] { "d0=0.01", "use_bias_correction=True" } : Array.Empty<string>());
        // AdamW8bit keeps 8-bit state only from 4096 values on.
        var start = type == "AdamW8bit" ? Enumerable.Range(0, 4100).Select(i => Math.Sin(i)).ToArray() : P0;
        double[] Grad(int k) => type == "AdamW8bit" ? start.Select((v, i) => Grads[k][i % 3] * v).ToArray() : Grads[k];
        using var pa = NewParam(start);
        using var opt = OptimizerFactory.Create(type, new[] { new NetworkParamGroup("unet", new[] { pa }, lr) }, args);
        for (int k = 0; k < 2; k++) { SetGrad(opt, pa, Grad(k)); opt.Step(); }
        var (tensors, json) = opt.SaveState();

        using var pb = NewParam(Values(pa));
        var args2 = new OptimizerArgs(type == "Prodigy" ? new[] { "d0=0.01", "use_bias_correction=True" } : Array.Empty<string>());
        using var resumed = OptimizerFactory.Create(type, new[] { new NetworkParamGroup("unet", new[] { pb }, lr) }, args2);
        resumed.LoadState(tensors, json);
        foreach (var t in tensors.Values) t.Dispose();

        SetGrad(opt, pa, Grad(2)); opt.Step();
        SetGrad(resumed, pb, Grad(2)); resumed.Step();
        Assert.Equal(pa.data<float>().ToArray(), pb.data<float>().ToArray());

        var (t1, j1) = opt.SaveState();
        var (t2, j2) = resumed.SaveState();
        Assert.Equal(j1, j2);
        Assert.Equal(t1.Keys.OrderBy(k => k), t2.Keys.OrderBy(k => k));
        Assert.NotEmpty(t1);
        foreach (var key in t1.Keys) Assert.Equal(t1[key].to(ScalarType.Float64).data<double>().ToArray(), t2[key].to(ScalarType.Float64).data<double>().ToArray());
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
    public void Factory_builds_each_type_with_its_arguments()
    {
        using var p = NewParam(P0);
        var warnings = new List<string>();
        using var a8 = OptimizerFactory.Create("AdamW8bit", new[] { new NetworkParamGroup("unet", new[] { p }, 1e-4) },
            new OptimizerArgs(new[] { "weight_decay=0.1" }), warnings.Add);
        Assert.IsType<AdamW8bitOptimizer>(a8);
        Assert.Equal(0.1, ((AdamW8bitOptimizer)a8).WeightDecay);
        Assert.Empty(warnings);
        using var lion = OptimizerFactory.Create("lion", new[] { new NetworkParamGroup("unet", new[] { p }, 1e-4) }, new OptimizerArgs(new[] { "betas=[0.95,0.98]" }));
        Assert.Equal(0.95, ((LionOptimizer)lion).Beta1);
        using var dadapt = OptimizerFactory.Create("DAdaptation", new[] { new NetworkParamGroup("unet", new[] { p }, 1.0) }, OptimizerArgs.Empty);
        Assert.IsType<DAdaptAdamOptimizer>(dadapt);
        using var sgd = OptimizerFactory.Create("SGDNesterov", new[] { new NetworkParamGroup("unet", new[] { p }, 1.0) }, OptimizerArgs.Empty);
        Assert.Equal(0.9, ((SgdNesterovOptimizer)sgd).Momentum);
        Assert.Throws<LoraBake.Runtime.UserError>(() => OptimizerFactory.Create("Prodigy", new[] { new NetworkParamGroup("unet", new[] { p }, 1.0) },
            new OptimizerArgs(new[] { "d_coeff=2" })));
        Assert.Throws<LoraBake.Runtime.UserError>(() => OptimizerFactory.Create("Prodigy",
            new[] { new NetworkParamGroup("unet", new[] { p }, 1.0), new NetworkParamGroup("te", new[] { p }, 0.5) }, OptimizerArgs.Empty));
        Assert.Throws<LoraBake.Runtime.UserError>(() => OptimizerFactory.Create("DAdaptLion",
            new[] { new NetworkParamGroup("unet", new[] { p }, 1.0), new NetworkParamGroup("te", new[] { p }, 0.5) }, OptimizerArgs.Empty));
    }

    /// <summary>Two parameters (a vector and a 2×3 matrix, so AdaFactor factors one of them) and three steps of gradients.</summary>
    private static readonly double[][] Start2 = { new[] { 1.0, -2.0, 0.5 }, new[] { 0.25, -0.75, 0.5, 1.5, -1.0, 0.1 } };
    private static readonly double[][][] Grads2 =
    {
        new[] { new[] { 0.3, -0.1, 0.2 }, new[] { 0.5, -0.5, 0.1, 0.2, -0.3, 0.05 } },
        new[] { new[] { 0.25, -0.15, 0.1 }, new[] { 0.4, -0.6, 0.2, 0.1, -0.2, 0.0 } },
        new[] { new[] { 0.35, -0.05, 0.3 }, new[] { 0.6, -0.3, 0.15, 0.3, -0.1, 0.02 } },
    };

    /// <summary>Runs the optimizer on <see cref="Start2"/> for 3 steps; after each, calls check with the step index and both parameters' values.</summary>
    private static void Run2(Func<IEnumerable<NetworkParamGroup>, NetworkOptimizer> create, Action<int, NetworkOptimizer, double[][]> check)
    {
        using var pa = NewParam(Start2[0]);
        using var pb = new Parameter(tensor(Start2[1].Select(v => (float)v).ToArray()).reshape(2, 3), requires_grad: true);
        using var opt = create(new[] { new NetworkParamGroup("unet", new[] { pa, pb }, 1.0) });
        for (int k = 0; k < 3; k++)
        {
            opt.ZeroGrad();
            foreach (var (p, j) in new[] { (pa, 0), (pb, 1) })
            {
                using var c = tensor(Grads2[k][j].Select(q => (float)q).ToArray()).reshape(p.shape);
                using var loss = (p * c).sum();
                loss.backward();
            }
            opt.Step();
            check(k, opt, new[] { Values(pa), Values(pb.flatten()) });
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void SGDNesterov_matches_torch_sgd(double wd)
    {
        const double lr = 0.1, mu = 0.9;
        var x = Start2.Select(a => (double[])a.Clone()).ToArray();
        var buf = Start2.Select(a => new double[a.Length]).ToArray();
        Run2(g => new SgdNesterovOptimizer(g.Select(q => new NetworkParamGroup(q.Name, q.Params, lr)), mu, wd), (k, _, actual) =>
        {
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < x[j].Length; i++)
                {
                    double d = Grads2[k][j][i] + wd * x[j][i];
                    buf[j][i] = k == 0 ? d : mu * buf[j][i] + d;
                    x[j][i] -= lr * (d + mu * buf[j][i]);
                }
            AssertClose(x[0], actual[0], 1e-6);
            AssertClose(x[1], actual[1], 1e-6);
        });
    }

    /// <summary>dadaptation 3.x's dadapt_adam.py in double (the numerator uses s and v from before the step), decoupled weight decay and bias correction on and off.</summary>
    [Theory]
    [InlineData(false, false, 0.0)]
    [InlineData(true, true, 0.1)]
    public void DAdaptAdam_matches_reference_algorithm(bool biasCorrection, bool decouple, double wd)
    {
        const double lr = 1.0, b1 = 0.9, b2 = 0.999, eps = 1e-8, d0 = 1e-2;
        double sb2 = Math.Sqrt(b2);
        var x = Start2.Select(a => (double[])a.Clone()).ToArray();
        var m = Start2.Select(a => new double[a.Length]).ToArray();
        var v = Start2.Select(a => new double[a.Length]).ToArray();
        var s = Start2.Select(a => new double[a.Length]).ToArray();
        double d = d0, numW = 0;
        Run2(g => new DAdaptAdamOptimizer(g, b1, b2, eps, wd, decouple, biasCorrection, d0), (k, opt, actual) =>
        {
            double bc = biasCorrection ? Math.Sqrt(1 - Math.Pow(b2, k + 1)) / (1 - Math.Pow(b1, k + 1)) : 1.0;
            double dlr = d * lr * bc, acc = 0, sk = 0;
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < x[j].Length; i++)
                {
                    double gr = Grads2[k][j][i] + (!decouple ? wd * x[j][i] : 0);
                    acc += dlr * gr * s[j][i] / (Math.Sqrt(v[j][i]) + eps);
                    m[j][i] = b1 * m[j][i] + dlr * (1 - b1) * gr;
                    v[j][i] = b2 * v[j][i] + (1 - b2) * gr * gr;
                    s[j][i] = sb2 * s[j][i] + dlr * (1 - sb2) * gr;
                    sk += Math.Abs(s[j][i]);
                }
            numW = sb2 * numW + (1 - sb2) * acc;
            d = Math.Max(d, numW / ((1 - sb2) * sk));
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < x[j].Length; i++)
                {
                    if (decouple) x[j][i] -= wd * dlr * x[j][i];
                    x[j][i] -= m[j][i] / (Math.Sqrt(v[j][i]) + eps);
                }
            Assert.Equal(d, ((DAdaptAdamOptimizer)opt).D, 1e-5 * d);
            AssertClose(x[0], actual[0], 1e-5);
            AssertClose(x[1], actual[1], 1e-5);
        });
        Assert.True(d > d0, "d grew from d0 after the first step");
    }

    /// <summary>dadaptation's dadapt_lion.py in double.</summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.1)]
    public void DAdaptLion_matches_reference_algorithm(double wd)
    {
        const double lr = 1.0, b1 = 0.9, b2 = 0.99, d0 = 1e-2;
        double sb2 = Math.Sqrt(b2);
        var x = Start2.Select(a => (double[])a.Clone()).ToArray();
        var m = Start2.Select(a => new double[a.Length]).ToArray();
        var s = Start2.Select(a => new double[a.Length]).ToArray();
        double d = d0, numW = 0;
        Run2(g => new DAdaptLionOptimizer(g, b1, b2, wd, d0), (k, opt, actual) =>
        {
            double dlr = d * lr, acc = 0, sk = 0;
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < x[j].Length; i++)
                {
                    double gr = Grads2[k][j][i];
                    x[j][i] *= 1 - dlr * wd;
                    double u = Math.Sign(b1 * m[j][i] + (1 - b1) * gr);
                    x[j][i] -= dlr * u;
                    m[j][i] = b2 * m[j][i] + (1 - b2) * dlr * gr;
                    acc += dlr * u * s[j][i];
                    s[j][i] = sb2 * s[j][i] + (1 - sb2) * dlr * u;
                    sk += Math.Abs(s[j][i]);
                }
            numW = sb2 * numW + (1 - sb2) * acc;
            d = Math.Max(d, numW / ((1 - sb2) * sk));
            Assert.Equal(d, ((DAdaptLionOptimizer)opt).D, 1e-5 * d);
            AssertClose(x[0], actual[0], 1e-5);
            AssertClose(x[1], actual[1], 1e-5);
        });
    }

    /// <summary>transformers' Adafactor in double: factored second moment for the matrix, RMS clipping, relative step or a fixed LR.</summary>
    [Theory]
    [InlineData(true, true, null)]
    [InlineData(false, false, 0.9)]
    public void AdaFactor_matches_transformers(bool relativeStep, bool scaleParameter, double? beta1)
    {
        const double e1 = 1e-30, e2 = 1e-3, clip = 1.0, decay = -0.8, fixedLr = 0.05;
        var x = Start2.Select(a => (double[])a.Clone()).ToArray();
        var v0 = new double[3];
        var row = new double[2];
        var col = new double[3];
        var m = Start2.Select(a => new double[a.Length]).ToArray();
        static double Rms(IEnumerable<double> a) { var l = a.ToList(); return Math.Sqrt(l.Sum(q => q * q) / l.Count); }
        Run2(g => new AdafactorOptimizer(g.Select(q => new NetworkParamGroup(q.Name, q.Params, fixedLr)), e1, e2, clip, decay, beta1, 0.0, scaleParameter, relativeStep),
            (k, _, actual) =>
        {
            int step = k + 1;
            double b2t = 1 - Math.Pow(step, decay);
            for (int j = 0; j < 2; j++)
            {
                var gr = Grads2[k][j];
                double rel = relativeStep ? Math.Min(1e-2, 1 / Math.Sqrt(step)) : fixedLr;
                double lr = (scaleParameter ? Math.Max(e2, Rms(x[j])) : 1.0) * rel;
                var u = new double[gr.Length];
                if (j == 0)
                    for (int i = 0; i < 3; i++) { v0[i] = b2t * v0[i] + (1 - b2t) * (gr[i] * gr[i] + e1); u[i] = gr[i] / Math.Sqrt(v0[i]); }
                else
                {
                    for (int r = 0; r < 2; r++) row[r] = b2t * row[r] + (1 - b2t) * Enumerable.Range(0, 3).Average(c => gr[r * 3 + c] * gr[r * 3 + c] + e1);
                    for (int c = 0; c < 3; c++) col[c] = b2t * col[c] + (1 - b2t) * Enumerable.Range(0, 2).Average(r => gr[r * 3 + c] * gr[r * 3 + c] + e1);
                    double rowMean = row.Average();
                    for (int r = 0; r < 2; r++)
                        for (int c = 0; c < 3; c++) u[r * 3 + c] = gr[r * 3 + c] / Math.Sqrt(row[r] / rowMean) / Math.Sqrt(col[c]);
                }
                double scale = Math.Max(1.0, Rms(u) / clip);
                for (int i = 0; i < u.Length; i++)
                {
                    double upd = u[i] / scale * lr;
                    if (beta1 is { } b) { m[j][i] = b * m[j][i] + (1 - b) * upd; upd = m[j][i]; }
                    x[j][i] -= upd;
                }
            }
            AssertClose(x[0], actual[0], 1e-5);
            AssertClose(x[1], actual[1], 1e-5);
        });
    }

    [Fact]
    public void Dynamic_maps_are_bitsandbytes_codes()
    {
        var signed = BlockwiseQuantizer.DynamicMap(signed: true);
        var unsigned = BlockwiseQuantizer.DynamicMap(signed: false);
        Assert.Equal(256, signed.Length);
        Assert.Equal(256, unsigned.Length);
        Assert.Equal(1f, signed[^1]);
        // Exponent 6 (scale 1): linspace(0.1, 1, 65) → the last midpoint is 1 − 0.9/128.
        Assert.Equal(-0.99296875f, signed[0], 6);
        // Exponent 0 (scale 1e-6): signed linspace(0.1, 1, 2) → 0.55e-6; unsigned linspace(0.1, 1, 3) → 0.325e-6.
        Assert.Equal(5.5e-7f, signed.Where(c => c > 0).Min(), 9);
        Assert.Equal(0f, unsigned[0]);
        Assert.Equal(1f, unsigned[^1]);
        Assert.Equal(3.25e-7f, unsigned[1], 9);
        Assert.True(signed.Zip(signed.Skip(1)).All(p => p.First <= p.Second), "sorted");
    }

    /// <summary>
    /// AdamW8bit against bitsandbytes' block-wise algorithm written element by element: moments dequantised from
    /// (code, block absmax), updated in fp32, the step taken with them, then re-quantised to the nearest code.
    /// </summary>
    [Fact]
    public void AdamW8bit_matches_blockwise_reference_and_stores_a_quarter_of_the_state()
    {
        const int n = 5000;   // ≥ min_8bit_size (4096), and not a whole number of 256-blocks
        const double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 1e-2;
        var rng = new Random(7);
        var start = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var grads = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, n).Select(_ => (rng.NextDouble() * 2 - 1) * 0.1).ToArray()).ToArray();
        var signed = BlockwiseQuantizer.DynamicMap(true);
        var unsigned = BlockwiseQuantizer.DynamicMap(false);
        static int Nearest(float[] code, float v)
        {
            int best = 0;
            for (int i = 1; i < code.Length; i++) if (Math.Abs(code[i] - v) < Math.Abs(code[best] - v)) best = i;
            return best;
        }
        var x = start.Select(v => (float)v).ToArray();
        var c1 = new int[n]; var c2 = new int[n];
        int blocks = (n + 255) / 256;
        var a1 = new float[blocks]; var a2 = new float[blocks];
        c1.AsSpan().Fill(Nearest(signed, 0)); c2.AsSpan().Fill(Nearest(unsigned, 0));

        using var p = NewParam(start);
        using var opt = new AdamW8bitOptimizer(new[] { new NetworkParamGroup("unet", new[] { p }, lr) }, b1, b2, eps, wd);
        using var p32 = NewParam(start);
        using var adamw = new AdamWOptimizer(new[] { new NetworkParamGroup("unet", new[] { p32 }, lr) }, b1, b2, eps, wd);
        for (int k = 0; k < 3; k++)
        {
            SetGrad(opt, p, grads[k]); opt.Step();
            SetGrad(adamw, p32, grads[k]); adamw.Step();
            var m = new float[n]; var v = new float[n];
            for (int i = 0; i < n; i++)
            {
                float g = (float)grads[k][i];
                m[i] = signed[c1[i]] * a1[i / 256] * (float)b1 + (1 - (float)b1) * g;
                v[i] = unsigned[c2[i]] * a2[i / 256] * (float)b2 + (1 - (float)b2) * g * g;
                double bc1 = 1 - Math.Pow(b1, k + 1), bc2 = Math.Sqrt(1 - Math.Pow(b2, k + 1));
                x[i] = (float)(x[i] * (1 - lr * wd));
                x[i] = (float)(x[i] - lr / bc1 * m[i] / (Math.Sqrt(v[i]) / bc2 + eps));
            }
            for (int b = 0; b < blocks; b++)
            {
                var range = Enumerable.Range(b * 256, Math.Min(256, n - b * 256));
                a1[b] = range.Max(i => Math.Abs(m[i]));
                a2[b] = range.Max(i => Math.Abs(v[i]));
                foreach (var i in range) { c1[i] = Nearest(signed, m[i] / a1[b]); c2[i] = Nearest(unsigned, v[i] / a2[b]); }
            }
            AssertClose(x.Select(q => (double)q).ToArray(), Values(p), 2e-5);
        }
        // Close to 32-bit AdamW, not equal to it: the state was quantised.
        var d8 = Values(p); var d32 = Values(p32);
        double moved = d32.Zip(start).Average(q => Math.Abs(q.First - q.Second));
        double apart = d8.Zip(d32).Average(q => Math.Abs(q.First - q.Second));
        Assert.True(apart < 0.1 * moved, $"8-bit moments keep AdamW's steps close: mean difference {apart:R} vs mean movement {moved:R}");
        Assert.False(d8.SequenceEqual(d32));
        // State: n codes per moment (1 byte) + one fp32 absmax per block, against 2 × 4 bytes per value.
        Assert.Equal(2L * n + 2L * blocks * 4, opt.StateBytes);
        Assert.True(opt.StateBytes * 3.9 < 8L * n, $"8-bit state {opt.StateBytes} B vs 32-bit {8L * n} B");
    }

    /// <summary>A LoRA pair (up starts at zero, so down has no gradient on the first step) trained 8-bit all the way down.</summary>
    [Fact]
    public void AdamW8bit_trains_a_lora_pair_with_8_bit_state_everywhere()
    {
        using var g = new TorchSharp.torch.Generator(3);
        using var down = new Parameter(randn(4, 64, generator: g) * 0.1, requires_grad: true);
        using var up = new Parameter(zeros(32, 4), requires_grad: true);
        var x = randn(16, 64, generator: g);
        var y = randn(16, 32, generator: g);
        using var opt = new AdamW8bitOptimizer(new[] { new NetworkParamGroup("unet", new[] { down, up }, 1e-2) }, min8bitSize: 0);
        double first = double.NaN, last = double.NaN;
        for (int k = 0; k < 20; k++)
        {
            opt.ZeroGrad();
            using var loss = (x.matmul(down.t()).matmul(up.t()) - y).pow(2).mean();
            loss.backward();
            opt.Step();
            last = loss.item<float>();
            if (k == 0) first = last;
            Assert.True(double.IsFinite(last), $"step {k + 1}: loss {last}");
            Assert.False(down.isnan().any().item<bool>() || up.isnan().any().item<bool>(), $"step {k + 1}: NaN in the parameters");
        }
        Assert.True(last < first, $"loss {first} → {last}");
    }

    [Fact]
    public void AdamW8bit_keeps_32_bit_state_below_min_8bit_size_as_bitsandbytes()
    {
        using var pa = NewParam(P0);
        using var pb = NewParam(P0);
        using var opt = new AdamW8bitOptimizer(new[] { new NetworkParamGroup("unet", new[] { pa }, 1e-2) }, weightDecay: 0.01);
        using var reference = new AdamWOptimizer(new[] { new NetworkParamGroup("unet", new[] { pb }, 1e-2) }, weightDecay: 0.01);
        for (int k = 0; k < 3; k++)
        {
            SetGrad(opt, pa, Grads[k]); opt.Step();
            SetGrad(reference, pb, Grads[k]); reference.Step();
        }
        Assert.Equal(Values(pb), Values(pa));
    }
}
