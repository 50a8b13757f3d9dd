namespace LoraBake.Runtime;

/// <summary>
/// Holds off finalizers while a render or a training step runs LibTorch work. TorchSharp 0.107 hands temporary Scalars
/// to native code without keeping them alive (the alpha of every <c>a + b</c>, the operand of <c>x * 0.5</c>): when
/// another thread's allocation starts a collection during that call, the Scalar's finalizer frees it while LibTorch
/// reads it, and the op fails with "Expected false to be true" from c10::Scalar::toFloat (seen in demo evaluations
/// under load; with one thread allocating flat out beside a loop of additions it fails in 1–3 s:
/// tests/…/Runtime/GcQuietRegionTests).
///
/// Collections may still run inside a region; what they find dead is only queued for finalization. The outermost
/// region makes one object whose finalizer blocks until the region ends, and lets a gen-0 collection hand it to the
/// finalizer thread: .NET runs finalizers one at a time on that thread, so no Scalar is freed until the region
/// ends. (A no-GC region did not close the race: another thread's allocations used up its budget and the runtime
/// ended it.) The cost is one gen-0 collection per outermost region. Code inside a region must not wait for
/// finalizers (GC.WaitForPendingFinalizers would wait for the region itself). Regions entered from several threads
/// (parallel tests) share one hold. The real fix belongs in TorchSharp: keep the Scalar alive across the call.
/// </summary>
public static class GcQuietRegion
{
    /// <summary>How long Enter waits for the finalizer thread to reach the hold (it may be finishing earlier work).</summary>
    static readonly TimeSpan HoldTimeout = TimeSpan.FromSeconds(10);

    static readonly object Gate = new();
    static int depth;
    static ManualResetEventSlim? release;

    /// <summary>Whether the finalizer thread is held now (for tests and diagnostics).</summary>
    public static bool Holding { get; private set; }

    public static IDisposable Enter()
    {
        lock (Gate)
        {
            if (depth++ == 0) Hold();
        }
        return new Exit();
    }

    static void Hold()
    {
        var released = new ManualResetEventSlim(false);
        var started = new ManualResetEventSlim(false);
        release = released;
        MakeHold(released, started);
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        // Finalizers queued before the hold may still be running; ours comes after them.
        Holding = started.Wait(HoldTimeout);
    }

    /// <summary>Not inlined, so nothing on this stack keeps the hold reachable.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void MakeHold(ManualResetEventSlim released, ManualResetEventSlim started) => _ = new FinalizerHold(released, started);

    sealed class FinalizerHold(ManualResetEventSlim released, ManualResetEventSlim started)
    {
        ~FinalizerHold()
        {
            started.Set();
            released.Wait();
            released.Dispose();
        }
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
                if (--depth > 0) return;
                Holding = false;
                release?.Set();
                release = null;
            }
        }
    }
}
