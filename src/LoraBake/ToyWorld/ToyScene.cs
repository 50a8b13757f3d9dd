using System.Globalization;

namespace LoraBake.ToyWorld;

public enum ToyShape { Circle, Square, Triangle, Star, Ring, Heart }

public enum ToySize { Small, Large }

public enum ToyPosition { Center, Left, Right, Top, Bottom }

/// <summary>A named flat colour of the toy world.</summary>
public sealed record ToyColor(string Name, byte R, byte G, byte B);

/// <summary>
/// One picture of the toy world: <see cref="Count"/> copies of a shape of one colour and size on a flat background,
/// and the exact caption that says so ("two small red circles at left on blue background"). A scene with a
/// <see cref="Trigger"/> is the demo concept: the caption starts with the trigger word instead of colour and shape.
/// </summary>
public sealed record ToyScene(ToyShape Shape, ToyColor Color, ToySize Size, ToyPosition Position, ToyColor Background, int Count = 1,
    string? Trigger = null)
{
    /// <summary>The caption: "[two ]SIZE COLOUR SHAPE[s][ at POSITION] on BACKGROUND background", or "TRIGGER, …" for a concept scene.</summary>
    public string Caption
    {
        get
        {
            var where = Position == ToyPosition.Center ? "" : " at " + Lower(Position);
            var on = $" on {Background.Name} background";
            if (Trigger is { } t) return $"{t}, {Lower(Size)}{where}{on}";
            var count = Count == 2 ? "two " : "";
            var plural = Count == 2 ? "s" : "";
            return $"{count}{Lower(Size)} {Color.Name} {Lower(Shape)}{plural}{where}{on}";
        }
    }

    /// <summary>Object radius as a fraction of the image side (two objects are always small).</summary>
    public double Radius => Size == ToySize.Large ? 0.3 : 0.17;

    /// <summary>Object centres in [0, 1]² (two objects sit side by side around the position).</summary>
    public IReadOnlyList<(double X, double Y)> Centers
    {
        get
        {
            var (x, y) = Position switch
            {
                ToyPosition.Left => (0.3, 0.5), ToyPosition.Right => (0.7, 0.5),
                ToyPosition.Top => (0.5, 0.3), ToyPosition.Bottom => (0.5, 0.7), _ => (0.5, 0.5),
            };
            if (Count < 2) return [(x, y)];
            double r = Radius;
            return Position is ToyPosition.Left or ToyPosition.Right ? [(x, y - r * 1.1), (x, y + r * 1.1)] : [(x - r * 1.1, y), (x + r * 1.1, y)];
        }
    }

    static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLower(CultureInfo.InvariantCulture);
}
