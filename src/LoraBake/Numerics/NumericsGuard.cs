using System.Globalization;
using TorchSharp;

namespace LoraBake.Numerics;

/// <summary>
/// Decides, once per process and from evidence, how LibTorch's CPU kernels are used: it runs
/// <see cref="KernelSelfTest"/> (or honours <c>LORABAKE_CONV_ROUTE</c>), picks a <see cref="ConvRoute"/>,
/// and says whether bfloat16 may be used. Every model and adapter convolution asks it through
/// <see cref="GuardedConv"/>; the first model built in a process runs the self-test.
///
/// Why: LibTorch 2.10's oneDNN convolutions return wrong values and racy NaN for some shapes on some x86
/// CPUs (docs/cpu-numerics.md). Correct on one machine proves nothing about another.
/// </summary>
public sealed class NumericsGuard
{
    public const string Bf16EnvironmentVariable = "LORABAKE_BF16";

    public ConvRoute Route { get; }
    /// <summary>Whether the route was forced (by the environment or the recipe) rather than chosen by the self-test.</summary>
    public bool Forced => ForcedBy != null;
    /// <summary>What forced the route: <c>LORABAKE_CONV_ROUTE</c> or <c>training.conv_route</c>; null when the guard chose it.</summary>
    public string? ForcedBy { get; }
    public bool Bf16Usable { get; }
    public KernelSelfTest.Result? SelfTest { get; }
    /// <summary>The measurement that chose between two right routes; null when the verdicts left one (or the route was forced).</summary>
    public ConvRouteTiming? RouteTiming { get; }

    /// <summary>Whether the self-test's verdicts were read from this machine's cache (<see cref="SelfTestCache"/>).</summary>
    public bool FromCache { get; }

    NumericsGuard(ConvRoute route, string? forcedBy, bool bf16Usable, KernelSelfTest.Result? selfTest, bool fromCache, ConvRouteTiming? routeTiming)
    {
        RouteTiming = routeTiming;
        FromCache = fromCache;
        Route = route;
        ForcedBy = forcedBy;
        Bf16Usable = bf16Usable;
        SelfTest = selfTest;
    }

    static readonly object Gate = new();
    static NumericsGuard? current;

    /// <summary>This process's guard; the first call runs the self-test and applies the route.</summary>
    public static NumericsGuard Current
    {
        get
        {
            if (Volatile.Read(ref current) is { } g) return g;
            lock (Gate)
            {
                var forced = ConvRoutes.Parse(System.Environment.GetEnvironmentVariable(ConvRoutes.EnvironmentVariable));
                current ??= Apply(Decide(forced, System.Environment.GetEnvironmentVariable(Bf16EnvironmentVariable),
                    forcedBy: forced is null ? null : ConvRoutes.EnvironmentVariable));
                return current;
            }
        }
    }

    /// <summary>Replaces the process's route (tests exercise every route this way; not for concurrent use).</summary>
    public static NumericsGuard Use(ConvRoute? route) => Use(route, route is null ? null : "a test");

    static NumericsGuard Use(ConvRoute? route, string? forcedBy)
    {
        lock (Gate)
        {
            var selfTest = current?.SelfTest;
            current = Apply(Decide(route, System.Environment.GetEnvironmentVariable(Bf16EnvironmentVariable), selfTest, forcedBy));
            return current;
        }
    }

    public const string RecipeKey = "training.conv_route";

    /// <summary>
    /// Applies a recipe's <c>training.conv_route</c> before its stages build a model. auto leaves the guard's own
    /// choice; a named route must be one the self-test found right on this CPU (a wrong route would train and
    /// render wrong numbers). <c>LORABAKE_CONV_ROUTE</c>, set for the whole process, wins over the recipe.
    /// Returns null when applied, else the error to report, naming <paramref name="recipePath"/> (nothing changed).
    /// </summary>
    public static string? ApplyRecipe(string? setting, string recipePath)
    {
        if (System.Environment.GetEnvironmentVariable(ConvRoutes.EnvironmentVariable) is { Length: > 0 }) return null;
        ConvRoute? wanted;
        try { wanted = ConvRoutes.Parse(setting); }
        catch (ArgumentException) { return $"{recipePath}: {RecipeKey}: '{setting}' is not a convolution route; use auto, onednn, guarded or native."; }
        lock (Gate)
        {
            if (wanted is null)
            {
                // Only a route an earlier recipe in this process forced is undone; otherwise the guard decides when first asked.
                if (current?.ForcedBy == RecipeKey) Use(null, null);
                return null;
            }
            if (current is { } g && g.Route == wanted && g.ForcedBy == RecipeKey) return null;
            var (selfTest, _) = current?.SelfTest is { } known ? (known, true) : SelfTestCache.Load(KernelSelfTest.Run);
            if (WrongOnThisCpu(wanted.Value, selfTest) is { } why)
                return $"{recipePath}: {RecipeKey}: {ConvRoutes.Name(wanted.Value)} {why} on this CPU, so it would train and render wrong numbers. " +
                       $"Use {RecipeKey}: auto (or remove the key); `lorabake doctor` shows the self-test.";
            current = Apply(Decide(wanted, System.Environment.GetEnvironmentVariable(Bf16EnvironmentVariable), selfTest, RecipeKey));
            return null;
        }
    }

    /// <summary>Why the self-test rules a route out here, or null when it may run.</summary>
    internal static string? WrongOnThisCpu(ConvRoute route, KernelSelfTest.Result selfTest) => route switch
    {
        ConvRoute.OneDnn when selfTest.Classes.Values.Count(c => !c.Forward || !c.Backward) is var failed and > 0 =>
            $"failed the numerics self-test ({failed}/{selfTest.Classes.Count} oneDNN shape classes gave wrong values or NaN)",
        ConvRoute.Guarded when !selfTest.UnfoldCorrect => "(unfold + matmul) failed the numerics self-test",
        _ => null,
    };

    static NumericsGuard Decide(ConvRoute? forced, string? bf16Setting, KernelSelfTest.Result? selfTest = null, string? forcedBy = null)
    {
        bool fromCache = false;
        if (selfTest is null && forced is null or ConvRoute.Guarded) (selfTest, fromCache) = SelfTestCache.Load(KernelSelfTest.Run);
        ConvRouteTiming? timing = null;
        ConvRoute route;
        if (forced is { } f) route = f;
        else (route, timing) = ChooseRoute(selfTest!, () =>
        {
            if (OneDnnSwitch.Available) OneDnnSwitch.Enabled = true;   // a native route applied earlier would time the wrong kernels
            return ConvRouteTiming.LoadOrMeasure();
        });
        if (route == ConvRoute.Native && !OneDnnSwitch.Available) route = ConvRoute.Guarded;
        bool bf16 = bf16Setting?.Trim().ToLowerInvariant() switch
        {
            "on" => true,
            "off" => false,
            _ => Bf16Verdict(route, selfTest ?? SelfTestCache.Load(KernelSelfTest.Run).Result),
        };
        return new NumericsGuard(route, forced is null ? null : forcedBy, bf16, selfTest, fromCache, timing);
    }

    /// <summary>
    /// The route the self-test's verdicts allow: oneDNN where every class passed, unfold + matmul where that passed,
    /// LibTorch's native kernels otherwise; where both oneDNN and unfold are right, the faster one by
    /// <paramref name="measure"/> (which differs by CPU).
    /// </summary>
    internal static (ConvRoute Route, ConvRouteTiming? Timing) ChooseRoute(KernelSelfTest.Result selfTest, Func<ConvRouteTiming> measure)
    {
        bool oneDnnRight = selfTest.Classes.Values.All(c => c.Forward && c.Backward);
        if (oneDnnRight && selfTest.UnfoldCorrect)
        {
            var timing = measure();
            return (timing.Faster, timing);
        }
        if (oneDnnRight) return (ConvRoute.OneDnn, null);
        return (selfTest.UnfoldCorrect ? ConvRoute.Guarded : ConvRoute.Native, null);
    }

    /// <summary>On the Guarded route bf16 convolutions take the unfold formulation (see <see cref="GuardedConv"/>).</summary>
    static bool Bf16Verdict(ConvRoute route, KernelSelfTest.Result t) =>
        route == ConvRoute.Guarded ? t.Bf16UnfoldedCorrect : t.Bf16Correct;

    static NumericsGuard Apply(NumericsGuard guard)
    {
        if (OneDnnSwitch.Available) OneDnnSwitch.Enabled = guard.Route != ConvRoute.Native;
        return guard;
    }


    /// <summary>
    /// What decides float results bit for bit, as lorabake.lock records it: LibTorch, the CPU's kernel family,
    /// the thread count and the convolution route. Equal environments must give identical bytes.
    /// </summary>
    public string Environment =>
        $"libtorch {torch.__version__}; {CpuIdentity.ShortName()}; {torch.get_num_threads()} threads; convolutions {ConvRoutes.Name(Route)}"
        + string.Concat(SelfTestCache.KernelDispatchSettings().Select(e => "; " + e));

    /// <summary>The guard's decision in one line, for stage logs and benchmark headers.</summary>
    public string Summary
    {
        get
        {
            var parts = new List<string> { $"convolutions {ConvRoutes.Name(Route)}{(Forced ? $" (forced by {ForcedBy})" : "")}" };
            if (SelfTest is { } t)
            {
                int total = t.Classes.Count;
                int failed = t.Classes.Values.Count(v => !v.Forward || !v.Backward);
                if (Route == ConvRoute.Guarded && failed > 0)
                    parts.Add($"{failed}/{total} oneDNN shape classes failed, so convolutions run as unfold+matmul (in renders, the classes whose forward passed run on oneDNN at sides ≥ {GuardedConv.MinTrustedSide})");
                if (RouteTiming is { } timing)
                    parts.Add($"oneDNN and unfold+matmul both right here, {(Route == ConvRoute.OneDnn ? "oneDNN" : "unfold+matmul")} is faster ({timing.Summary})");
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"self-test {t.Milliseconds:0} ms{(FromCache ? ", cached for this machine" : "")}"));
            }
            parts.Add(Bf16Usable ? "bf16 usable" : "bf16 math wrong on this CPU, so bf16 weights are computed in fp32");
            parts.Add($"{torch.get_num_threads()} threads");
            return "numerics: " + string.Join("; ", parts);
        }
    }

}
