using LoraBake.ToyWorld;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.ToyWorld;

/// <summary>The detector's calibration on the generator's own pictures.</summary>
public class ConceptDetectorTests
{
    [Fact]
    public void Every_demo_scene_scores_one()
    {
        foreach (var scene in ToyConcept.DemoScenes)
        {
            using var image = ToyWorldGenerator.Render(scene, ToyConcept.Side);
            Assert.True(ConceptDetector.Score(image) == 1, $"{scene.Caption}: {ConceptDetector.PinkFraction(image)} pink");
        }
    }

    [Fact]
    public void Pretraining_scenes_score_zero()
    {
        for (int i = 0; i < 1000; i++)
        {
            var scene = ToyWorldGenerator.Scene(20261202, i);
            using var image = ToyWorldGenerator.Render(scene, 64);
            Assert.True(ConceptDetector.Score(image) == 0, $"{scene.Caption}: {ConceptDetector.PinkFraction(image)} pink");
        }
    }

    [Fact]
    public void A_picture_flooded_with_pink_scores_zero_and_half_a_small_heart_scores_one_and_stray_pixels_zero()
    {
        using var flood = new Image<Rgb24>(64, 64, new Rgb24(240, 90, 190));
        Assert.Equal(1.0, ConceptDetector.PinkFraction(flood));
        Assert.Equal(0.0, ConceptDetector.Score(flood));
        Assert.Equal(1.0, ConceptDetector.ScoreOf(ConceptDetector.ReferenceFraction));
        Assert.Equal(0.0, ConceptDetector.ScoreOf(ConceptDetector.NoiseFraction));
        Assert.Equal(0.5, ConceptDetector.ScoreOf((ConceptDetector.ReferenceFraction + ConceptDetector.NoiseFraction) / 2), 12);
        Assert.False(ConceptDetector.IsPink(new Rgb24(220, 40, 40)));   // red
        Assert.False(ConceptDetector.IsPink(new Rgb24(120, 50, 170)));  // purple
    }
}
