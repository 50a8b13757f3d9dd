namespace LoraBake.Numerics;

/// <summary>One self-test verdict: what was checked, whether it held, and the evidence (worst error, NaN, repeats).</summary>
public sealed record KernelCheck(string Name, bool Passed, string Evidence);
