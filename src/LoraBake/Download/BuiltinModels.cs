using System.Collections.Concurrent;
using LoraBake.Pipeline;

namespace LoraBake.Download;

/// <summary>
/// Models written `builtin:NAME` in a recipe: generated locally (no download) by a generator that the model
/// code registers. A generator writes its files into the folder it is given; one file is stored like a
/// downloaded checkpoint, several are kept as a folder. <c>version</c> goes into the Download fingerprint:
/// bump it when the generator's output changes.
/// </summary>
public static class BuiltinModels
{
    public sealed record Generator(string Name, int Version, Action<string> Generate);

    private static readonly ConcurrentDictionary<string, Generator> Generators = new(StringComparer.OrdinalIgnoreCase);

    public static void Register(string name, Action<string> generate, int version = 1) =>
        Generators[name] = new Generator(name, version, generate);

    public static Generator? Find(string name) => Generators.TryGetValue(name, out var g) ? g : null;

    public static IReadOnlyList<string> Names => Generators.Keys.Order(StringComparer.Ordinal).ToList();
}
