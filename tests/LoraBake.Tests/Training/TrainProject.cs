using System.Diagnostics;
using LoraBake.Cli;
using LoraBake.Data;
using LoraBake.Pipeline;
using LoraBake.Recipes;
using LoraBake.Runtime;
using LoraBake.Tests.Data;

namespace LoraBake.Tests.Training;

/// <summary>
/// A throw-away repository with one small project on the built-in tiny model: three 512×512 demo images,
/// batch 1, two repeats by default (6 steps an epoch). Runs stages in-process through the real runner, or as a
/// separate `lorabake` process (to kill it).
/// </summary>
sealed class TrainProject : IDisposable
{
    public const string Name = "t";
    readonly TempFolder _folder = new("lorabake-train-");
    public string Root => _folder.Path;
    public RepoLayout Layout { get; }

    public TrainProject(string extraTraining = "", int epochs = 2, int repeats = 2)
    {
        Layout = new RepoLayout(Root);
        Directory.CreateDirectory(Layout.RecipesDir);
        var dataset = Path.Combine(Layout.ProjectDir(Name), "dataset");
        Directory.CreateDirectory(dataset);
        var generated = Path.Combine(Root, "gen");
        DemoDataset.Generate(generated);
        foreach (var stem in Directory.GetFiles(generated, "*.png").Order(StringComparer.Ordinal)
                     .Where(p => Image512(p)).Take(3).Select(Path.GetFileNameWithoutExtension))
            foreach (var ext in new[] { ".png", ".txt" })
                File.Copy(Path.Combine(generated, stem + ext), Path.Combine(dataset, stem + ext));
        File.WriteAllText(Layout.RecipePath(Name), $"""
            model:
              source: builtin:tiny-sd1
            dataset:
              resolution: 512
              num_repeats: {repeats}
              flip_aug: true
            training:
              how_many: {epochs}
              train_batch_size: 1
              unet_lr: 1.0e-3
              text_encoder_lr: 1.0e-4
              lr_scheduler: constant
              lr_warmup_ratio: 0
              optimizer: AdamW
              max_token_length: 75
            {extraTraining}
            network:
              network_dim: 4
              network_alpha: 2
            """);
    }

    static bool Image512(string path)
    {
        var info = SixLabors.ImageSharp.Image.Identify(path);
        return info.Width == 512 && info.Height == 512;
    }

    public Recipe Recipe => RecipeLoader.LoadOrThrow(Layout, Name);

    public StageRunOutcome Run(string stage, Func<Recipe, Recipe>? change = null) =>
        new StageRunner(Layout, PipelineStages.CreateCatalog()).Run(Name, (change ?? (r => r))(Recipe), stage, force: false);

    public void RunAll(int epochs)
    {
        Run("Download");
        Run("Process");
        for (int e = 1; e <= epochs; e++) Run(StageCatalog.EpochStageName(e, epochs));
        Run(LoraBake.Training.TrainExportStage.StageName);
    }

    public string Output(string file) => Path.Combine(Layout.OutputDir(Name), file);

    /// <summary>Starts `lorabake run-stage` for this project as its own process.</summary>
    public Process StartCli(string stage)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "lorabake.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "run-stage", "--project", Name, "--stage", stage }) psi.ArgumentList.Add(a);
        psi.Environment["LORABAKE_ROOT"] = Root;
        return Process.Start(psi)!;
    }

    public void Dispose() => _folder.Dispose();
}
