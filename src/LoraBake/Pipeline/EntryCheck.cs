namespace LoraBake.Pipeline;

/// <summary>
/// What <see cref="ArtifactStore.CheckEntry"/> found: the verified manifest, or, for an entry that is there but
/// damaged, what is wrong with it ("network.safetensors does not match its recorded SHA-256"). Both null: no entry.
/// </summary>
public sealed record EntryCheck(EntryManifest? Manifest, string? Problem);
