using LoraBake.Models;
using LoraBake.Models.Checkpoints;
using LoraBake.Models.Text;
using LoraBake.Models.UNet;
using LoraBake.Models.Vae;
using LoraBake.Numerics;
using LoraBake.Runtime;
using LoraBake.Tests.Models;
using LoraBake.Tests.Models.UNet;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>Every convolution route, forced in turn: the goldens hold and the measured bad shapes come out right.</summary>
[Collection(RouteCollection.Name)]
public class ConvRouteTests
{
    /// <summary>The routes that must be right on this machine: Guarded and Native always; OneDnn where the self-test passed every class.</summary>
    public static TheoryData<string> Routes() => new() { "guarded", "native", "onednn" };

    [Fact]
    public void Auto_never_picks_a_route_the_self_test_found_wrong()
    {
        var guard = NumericsGuard.Use(null);
        var test = Assert.IsType<KernelSelfTest.Result>(guard.SelfTest);
        if (!test.Classes.Values.All(v => v.Forward && v.Backward)) Assert.NotEqual(ConvRoute.OneDnn, guard.Route);
        if (guard.Route == ConvRoute.Guarded) Assert.True(test.UnfoldCorrect, "the guarded route relies on the unfold formulation");
    }

    static IDisposable Use(string route)
    {
        var parsed = ConvRoutes.Parse(route)!.Value;
        NumericsGuard.Use(parsed);
        return new Restore();
    }

    sealed class Restore : IDisposable
    {
        public void Dispose() => NumericsGuard.Use(null);
    }

    /// <summary>null when the route may be asserted right here; else why not (a forced OneDnn on a CPU whose kernels failed).</summary>
    static string? NotExpectedRight(string route)
    {
        if (route != "onednn") return null;
        var test = NumericsGuard.Use(null).SelfTest;
        return test is not null && test.Classes.Values.All(v => v.Forward && v.Backward) ? null
            : "oneDNN failed this CPU's self-test, so the forced oneDNN route is expected to be wrong here";
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public void Tiny_a_unet_matches_diffusers_on_every_route(string route)
    {
        Skip.If(NotExpectedRight(route) is not null, NotExpectedRight(route));
        using var _ = Use(route);
        using var model = TinyAUNet.Load();
        var golden = TinyAUNet.LoadGolden();
        using var noGrad = no_grad();
        using var pred = model.forward(golden["sample"], golden["timesteps"], golden["encoder_hidden_states"]);
        FloatAssert.Close(golden["noise_pred"], pred, rtol: 0, atol: 1e-5, $"tiny_a noise prediction on route {route}");
        foreach (var t in golden.Values) t.Dispose();
    }

    [SkippableTheory]
    [MemberData(nameof(Routes))]
    public void Tiny_a_vae_matches_diffusers_on_every_route(string route)
    {
        Skip.If(NotExpectedRight(route) is not null, NotExpectedRight(route));
        using var _ = Use(route);
        using var ckpt = Sd1Checkpoint.Open(GoldensFolder.File("tiny_a", "tiny_a_ldm.safetensors"));
        using var vae = AutoencoderKL.FromStateDict(ckpt.VaeStateDict, ckpt.VaeNormGroups, ckpt.VaeNormEps, source: ckpt.SourcePath);
        var g = SafetensorsFile.Open(GoldensFolder.File("tiny_a", "goldens", "vae.safetensors")).Load();
        using var noGrad = no_grad();
        using var decoded = vae.Decode(g["decode_latents"]);
        FloatAssert.Close(g["decoded"], decoded, rtol: 0, atol: 1e-5, $"tiny_a VAE decode on route {route}");
        using var posterior = vae.Encode(g["image"]);
        FloatAssert.Close(g["posterior_mean"], posterior.Mean, rtol: 0, atol: 1e-5, $"tiny_a VAE encode on route {route}");
        foreach (var t in g.Values) t.Dispose();
    }

    /// <summary>The shapes measured wrong on an AMD EPYC (family 26) with oneDNN: ragged and narrow channels, stride 2 at 48.</summary>
    public static TheoryData<long, long, long, long, long, long> BadShapes() => new()
    {
        { 2, 24, 32, 3, 1, 6 },
        { 2, 32, 24, 3, 1, 8 },
        { 2, 32, 4, 3, 1, 20 },
        { 1, 320, 4, 3, 1, 64 },
        { 2, 48, 48, 3, 2, 16 },
        { 2, 8, 8, 3, 1, 4 },
        { 1, 40, 40, 3, 2, 32 },
    };

    [Theory]
    [MemberData(nameof(BadShapes))]
    public void Guarded_convolutions_match_float64_forward_and_backward(long batch, long inC, long outC, long kernel, long stride, long size)
    {
        using var _ = Use("guarded");
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        var x = randn(new long[] { batch, inC, size, size + 3 }, generator: g);
        var w = randn(new long[] { outC, inC, kernel, kernel }, generator: g) / Math.Sqrt(inC * kernel * kernel);
        var b = randn(new long[] { outC }, generator: g);
        long[] s = [stride, stride], p = [kernel / 2, kernel / 2], d = [1, 1];

        var x64 = x.to(float64).requires_grad_(true);
        var w64 = w.to(float64).requires_grad_(true);
        var y64 = nn.functional.conv2d(x64, w64, b.to(float64), s, p, d);
        var gy = randn(y64.shape, generator: g);
        var ref64 = autograd.grad([y64], [x64, w64], [gy.to(float64)]);

        for (int run = 0; run < 3; run++)
        {
            var xi = x.detach().requires_grad_(true);
            var wi = w.detach().requires_grad_(true);
            var y = GuardedConv.Conv2d(xi, wi, b, s, p, d);
            var grads = autograd.grad([y], [xi, wi], [gy]);
            FloatAssert.Close(y64, y, rtol: 1e-4, atol: 1e-4, $"forward, run {run}");
            FloatAssert.Close(ref64[0], grads[0], rtol: 1e-4, atol: 1e-4, $"input gradient, run {run}");
            FloatAssert.Close(ref64[1], grads[1], rtol: 1e-4, atol: 1e-3, $"weight gradient, run {run}");
        }
    }

    [SkippableFact]
    public void The_native_route_turns_onednn_off_for_the_process_and_auto_restores_the_choice()
    {
        Skip.IfNot(OneDnnSwitch.Available, "this LibTorch build does not export the oneDNN switch (at::Context::setUserEnabledMkldnn), so there is no native route");
        using (Use("native"))
        {
            Assert.False(OneDnnSwitch.Enabled);
            Assert.Contains("convolutions native", NumericsGuard.Current.Summary);
        }
        Assert.True(OneDnnSwitch.Enabled);
        Assert.False(NumericsGuard.Current.Forced);
    }
}
