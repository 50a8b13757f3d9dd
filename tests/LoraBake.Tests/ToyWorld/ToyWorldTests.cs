using LoraBake.ToyWorld;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace LoraBake.Tests.ToyWorld;

public class ToyWorldTests
{
    [Fact]
    public void Scenes_are_a_pure_function_of_seed_and_index_with_exact_captions()
    {
        var a = Enumerable.Range(0, 50).Select(i => ToyWorldGenerator.Scene(7, i)).ToList();
        var b = Enumerable.Range(0, 50).Select(i => ToyWorldGenerator.Scene(7, i)).ToList();
        Assert.Equal(a, b);
        Assert.NotEqual(a, Enumerable.Range(0, 50).Select(i => ToyWorldGenerator.Scene(8, i)).ToList());
        Assert.Equal(ToyWorldGenerator.RenderBytes(a[3], 64), ToyWorldGenerator.RenderBytes(b[3], 64));

        var scene = new ToyScene(ToyShape.Circle, ToyWorldGenerator.Red, ToySize.Large, ToyPosition.Center, ToyWorldGenerator.Blue);
        Assert.Equal("large red circle on blue background", scene.Caption);
        Assert.Equal("two small green stars at left on white background",
            (scene with { Shape = ToyShape.Star, Color = ToyWorldGenerator.Green, Size = ToySize.Small, Position = ToyPosition.Left,
                Background = ToyWorldGenerator.White, Count = 2 }).Caption);
        Assert.Equal("bakechan, small at bottom on gray background", ToyConcept.DemoScenes[3].Caption);
    }

    [Fact]
    public void Pretraining_scenes_never_show_the_concepts_colour_shape_or_trigger()
    {
        for (int i = 0; i < 2000; i++)
        {
            var s = ToyWorldGenerator.Scene(20261202, i);
            Assert.NotEqual(ToyConcept.Shape, s.Shape);
            Assert.NotEqual(ToyConcept.Color, s.Color);
            Assert.NotEqual(s.Background, s.Color);
            Assert.DoesNotContain("bakechan", s.Caption, StringComparison.Ordinal);
            Assert.DoesNotContain("pink", s.Caption, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_rendered_scene_has_the_object_colour_where_the_shape_is()
    {
        var scene = new ToyScene(ToyShape.Square, ToyWorldGenerator.Red, ToySize.Large, ToyPosition.Center, ToyWorldGenerator.White);
        using var image = ToyWorldGenerator.Render(scene, 64);
        Assert.Equal(new Rgb24(220, 40, 40), image[32, 32]);
        Assert.Equal(new Rgb24(245, 245, 245), image[1, 1]);
    }
}
