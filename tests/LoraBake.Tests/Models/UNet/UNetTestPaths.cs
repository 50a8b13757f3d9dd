namespace LoraBake.Tests.Models.UNet;

/// <summary>Finds shared/goldens by walking up from the test binaries.</summary>
internal static class UNetTestPaths
{
    public static string Goldens => GoldensFolder.Root;

    public static string TinyA(params string[] parts) => Path.Combine([Goldens, "tiny_a", .. parts]);
}
