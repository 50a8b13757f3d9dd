using System.Runtime;

namespace LoraBake.Runtime;

/// <summary>
/// Holds off garbage collection while a render or a training step runs LibTorch work. TorchSharp 0.107 hands
/// temporary Scalars to native code without keeping them alive (the alpha of every <c>a + b</c>, the operand of
/// <c>x * 0.5</c>): when another thread's allocation starts a collection during that call, the finalizer frees the
/// Scalar while LibTorch reads it, and the op fails with "Expected false to be true" from c10::Scalar::toFloat
/// (seen in demo evaluations under load; with one thread allocating flat out beside a loop of additions it fails in
/// 1–3 s, and not in 20 s inside regions: tests/…/Runtime/GcQuietRegionTests). Inside a region no collection runs until
/// the process has allocated <see cref="Budget"/> bytes (then the runtime ends the region itself, and the guard is
/// off until the next one), so this narrows the race, it does not close it: the fix belongs in TorchSharp (keep the
/// Scalar alive across the call). Regions entered from several threads (parallel tests) share one.
/// </summary>
public static class GcQuietRegion
{
    /// <summary>Managed bytes the whole process may allocate in one region: an SD1.5 step or render allocates a few MB of wrappers.</summary>
    public const long Budget = 64L << 20;

    static readonly object Gate = new();
    static int depth;

    public static IDisposable Enter()
    {
        lock (Gate)
        {
            if (depth++ == 0 && GCSettings.LatencyMode != GCLatencyMode.NoGCRegion)
            {
                try { GC.TryStartNoGCRegion(Budget); }
                catch (InvalidOperationException) { } // a region is already open (not ours): it guards us too
                catch (ArgumentOutOfRangeException) { } // budget above this runtime's limit: run unguarded rather than fail
            }
        }
        return new Exit();
    }

    sealed class Exit : IDisposable
    {
        bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            lock (Gate)
            {
                if (--depth > 0 || GCSettings.LatencyMode != GCLatencyMode.NoGCRegion) return;
                try { GC.EndNoGCRegion(); }
                catch (InvalidOperationException) { } // the budget ran out and the runtime already ended it
            }
        }
    }
}
