using LoraBake.Pipeline;
using LoraBake.Recipes;

namespace LoraBake.Tests.Pipeline;

/// <summary>A small real stage: writes the recipe's model.source into a file; counts its runs.</summary>
public sealed class SourceEchoStage : IStage
{
    public int Runs;
    public string Name => "Download";
    public int SchemaVersion => 1;
    public IReadOnlyList<string> DependsOn => [];
    public Fingerprint ComputeFingerprint(StageContext c) => new FingerprintBuilder(Name, SchemaVersion).AddCanonical("model", c.Recipe.Model).Build();
    public void Run(StageContext c, EntryWriter output)
    {
        Runs++;
        File.WriteAllText(Path.Combine(output.Directory, "source.txt"), c.Recipe.Model.Source);
    }
}

/// <summary>Reads the upstream file and the dataset resolution; publishes a file for the user.</summary>
public sealed class ResolutionStage : IStage
{
    public int Runs;
    public string Name => "Process";
    public int SchemaVersion => 1;
    public IReadOnlyList<string> DependsOn => ["Download"];
    public Fingerprint ComputeFingerprint(StageContext c) =>
        new FingerprintBuilder(Name, SchemaVersion).Add("recipe:dataset.resolution", c.Recipe.Dataset.Resolution.ToString(System.Globalization.CultureInfo.InvariantCulture)).Build();
    public void Run(StageContext c, EntryWriter output)
    {
        Runs++;
        var source = File.ReadAllText(Path.Combine(c.UpstreamDirectory("Download"), "source.txt"));
        Directory.CreateDirectory(Path.Combine(output.Directory, "publish"));
        File.WriteAllText(Path.Combine(output.Directory, "publish", "processed.txt"), $"{source}@{c.Recipe.Dataset.Resolution}");
    }
}

public static class TestCatalog
{
    public static (StageCatalog Catalog, SourceEchoStage Download, ResolutionStage Process) Create()
    {
        var d = new SourceEchoStage();
        var p = new ResolutionStage();
        var catalog = new StageCatalog().Register(StageCatalog.Download, _ => [d]).Register(StageCatalog.Process, _ => [p]);
        return (catalog, d, p);
    }

    public static Recipe Recipe(string source = "builtin:test", int resolution = 512, int epochs = 3) => new()
    {
        Name = "p",
        Model = new ModelSettings { Source = source },
        Dataset = new DatasetSettings { Resolution = resolution },
        Training = new TrainingSettings { HowMany = epochs },
    };
}
