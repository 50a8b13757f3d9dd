namespace LoraBake.Numerics;

/// <summary>
/// How CPU convolutions run. The numerics guard picks one at start-up (<c>auto</c>: the faster of the routes its
/// self-test found right); the environment
/// variable <c>LORABAKE_CONV_ROUTE</c> forces one, so every route can be exercised on any machine.
/// </summary>
public enum ConvRoute
{
    /// <summary>LibTorch's default: oneDNN for every convolution it takes.</summary>
    OneDnn,
    /// <summary>Every convolution as unfold + matrix multiply (no convolution kernel at all): taken where a oneDNN
    /// shape class failed the self-test, and where oneDNN is right but this formulation measured faster
    /// (<see cref="ConvRouteTiming"/>).</summary>
    Guarded,
    /// <summary>oneDNN off for the whole process: LibTorch's native convolutions (about 4× slower on SD1.5 shapes).</summary>
    Native,
}

public static class ConvRoutes
{
    public const string EnvironmentVariable = "LORABAKE_CONV_ROUTE";

    public static string Name(ConvRoute route) => route switch
    {
        ConvRoute.OneDnn => "onednn",
        ConvRoute.Guarded => "guarded",
        _ => "native",
    };

    /// <summary>null for auto (or unset); throws with the allowed values for anything else.</summary>
    public static ConvRoute? Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => null,
        "onednn" => ConvRoute.OneDnn,
        "guarded" => ConvRoute.Guarded,
        "native" => ConvRoute.Native,
        _ => throw new ArgumentException(
            $"{EnvironmentVariable}={value} is not a convolution route; use auto, onednn, guarded or native."),
    };
}
