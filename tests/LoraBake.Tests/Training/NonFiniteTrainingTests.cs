using LoraBake.Training;

namespace LoraBake.Tests.Training;

/// <summary>Which cause a non-finite loss or gradient is blamed on.</summary>
public class NonFiniteTrainingTests
{
    [Fact]
    public void A_loss_that_climbed_before_it_broke_is_the_learning_rate()
    {
        var history = new List<double> { 0.20, 0.18, 0.17, 0.16, 0.25, 0.4, 0.8, 1.6, 3.2 };
        var e = NonFiniteTraining.Error(NonFiniteTraining.Pass.Forward, double.NaN, 3, 10, history, null, 5e-4);
        Assert.StartsWith("overcooked: the loss became NaN in the forward pass at epoch 3 step 10", e.Message);
        Assert.Contains("rose from 0.16", e.Message);
        Assert.Contains("Lower unet_lr (now 0.0005)", e.Message);
    }

    [Fact]
    public void A_gradient_that_broke_while_the_loss_was_steady_is_the_numbers_and_names_the_module()
    {
        var history = Enumerable.Repeat(0.12, 20).ToList();
        var e = NonFiniteTraining.Error(NonFiniteTraining.Pass.Backward, 0.12, 2, 21, history, "lora_unet_mid_block_attentions_0_proj_in", 1e-4);
        Assert.StartsWith("the numbers broke, not the learning: the gradients became NaN or infinite in the backward pass (first at lora_unet_mid_block_attentions_0_proj_in) at epoch 2 step 21", e.Message);
        Assert.Contains("steady around 0.12", e.Message);
        Assert.Contains("LORABAKE_CONV_ROUTE=native", e.Message);
        Assert.DoesNotContain("overcooked", e.Message);
    }

    [Fact]
    public void A_loss_broken_in_the_first_steps_is_the_numbers()
    {
        var e = NonFiniteTraining.Error(NonFiniteTraining.Pass.Forward, double.PositiveInfinity, 1, 2, [0.9], null, 1e-4);
        Assert.Contains("became infinite in the forward pass at epoch 1 step 2, only 1 step(s) into the run", e.Message);
    }
}
