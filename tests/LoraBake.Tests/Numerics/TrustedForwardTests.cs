using LoraBake.Numerics;
using static TorchSharp.torch;

namespace LoraBake.Tests.Numerics;

/// <summary>
/// On the Guarded route a render hands oneDNN exactly the convolutions the self-test found right in forward, at
/// sizes outside oneDNN's small-size race, when no gradient is needed; training and everything else stay unfolded.
/// </summary>
[Collection(RouteCollection.Name)]
public class TrustedForwardTests
{
    static readonly long[] One = [1, 1], Zero = [0, 0], Two = [2, 2];

    [Fact]
    public void Inside_a_render_only_passed_classes_at_safe_sizes_without_gradients_take_onednn()
    {
        var guard = NumericsGuard.Use(ConvRoute.Guarded);
        try
        {
            Assert.NotNull(guard.SelfTest);
            bool Verdict(bool pointWise, long stride, bool batched, long inC, long outC) =>
                guard.SelfTest!.Classes[new ConvClass(pointWise, stride, batched, ConvClass.Align(inC), ConvClass.Align(outC))].Forward;
            using var x = randn(1, 64, 32, 32);
            using var w3 = randn(64, 64, 3, 3);
            using var w3narrow = randn(4, 64, 3, 3);
            using var w1 = randn(32, 64, 1, 1);
            using var small = randn(1, 64, 8, 8);
            using var batch = randn(2, 64, 32, 32);

            // Outside a render: always unfolded.
            Assert.False(GuardedConv.TakesPassedForward(guard, x, w3, null, One, One, One));
            using (GuardedConv.TrustPassedForwards())
            {
                using var _ = no_grad();
                Assert.Equal(Verdict(false, 1, false, 64, 64), GuardedConv.TakesPassedForward(guard, x, w3, null, One, One, One));
                Assert.Equal(Verdict(false, 1, false, 64, 4), GuardedConv.TakesPassedForward(guard, x, w3narrow, null, One, One, One));
                Assert.Equal(Verdict(true, 1, false, 64, 32), GuardedConv.TakesPassedForward(guard, x, w1, null, One, Zero, One));
                Assert.Equal(Verdict(false, 2, false, 64, 64), GuardedConv.TakesPassedForward(guard, x, w3, null, Two, One, One));
                Assert.Equal(Verdict(false, 1, true, 64, 64), GuardedConv.TakesPassedForward(guard, batch, w3, null, One, One, One));
                // Below the safe size, with another padding than the tested one, or in bf16: unfolded whatever the class says.
                Assert.False(GuardedConv.TakesPassedForward(guard, small, w3, null, One, One, One));
                // Too small for LibTorch to give it to oneDNN at all (one image of 16×32×32 values).
                using var narrowInput = randn(1, 16, 32, 32);
                using var w16 = randn(16, 16, 3, 3);
                Assert.False(GuardedConv.TakesPassedForward(guard, narrowInput, w16, null, One, One, One));
                Assert.False(GuardedConv.TakesPassedForward(guard, x, w3, null, Two, Zero, One));
                using var xb = x.to(ScalarType.BFloat16);
                using var wb = w3.to(ScalarType.BFloat16);
                Assert.False(GuardedConv.TakesPassedForward(guard, xb, wb, null, One, One, One));
            }
            // A gradient is needed (training): unfolded, in a render scope or not.
            using (GuardedConv.TrustPassedForwards())
            {
                using var input = x.detach().requires_grad_(true);
                Assert.False(GuardedConv.TakesPassedForward(guard, input, w3, null, One, One, One));
            }

            // Where it does take oneDNN, the values agree with the unfolded convolution.
            if (Verdict(false, 1, false, 64, 64))
                using (GuardedConv.TrustPassedForwards())
                using (no_grad())
                {
                    using var viaGuard = GuardedConv.Conv2d(x, w3, null, One, One, One);
                    using var unfolded = GuardedConv.Unfolded(x, w3, null, One, One, One);
                    double rel = (viaGuard - unfolded).abs().max().item<float>() / unfolded.abs().max().item<float>();
                    Assert.True(rel < 1e-4, $"oneDNN and unfold differ by {rel:g3} relative");
                    Assert.True((viaGuard - unfolded).abs().max().item<float>() > 0, "the same bytes as unfold: the convolution did not go to oneDNN");
                }
        }
        finally
        {
            NumericsGuard.Use(null);
        }
    }
}
