using LoraBake.Cli.Commands;
using Spectre.Console.Cli;

// `lorabake`: one subcommand per pipeline stage, plus the tools around it. build.cake runs these
// as separate processes; each can also be run by hand (dotnet run --project src/LoraBake.Cli -c Release -- ARGS).
var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("lorabake");
    config.PropagateExceptions();
    config.AddCommand<DoctorCommand>("doctor");
    config.AddCommand<NewCommand>("new");
    config.AddCommand<TokenizeCommand>("tokenize");
    config.AddCommand<PlanCommand>("plan");
    config.AddCommand<RunStageCommand>("run-stage");
    config.AddCommand<DownloadCommand>("download");
    config.AddCommand<CleanCommand>("clean");
    config.AddCommand<InspectCommand>("inspect");
    config.AddCommand<ProcessCommand>("process");
    config.AddCommand<BuildCommand>("build");
    config.AddCommand<VerifyCommand>("verify");
    config.AddCommand<LockDiffCommand>("lock-diff");
    config.AddCommand<SummaryCommand>("summary");
    config.AddCommand<SchemaCommand>("schema");
    config.AddBranch("store", store => { store.AddCommand<StoreVerifyCommand>("verify"); store.AddCommand<StoreGcCommand>("gc"); });
    config.AddBranch("bench", bench => { bench.AddCommand<BenchProcessCommand>("process"); bench.AddCommand<BenchModelCommand>("model"); bench.AddCommand<BenchCellCommand>("cell"); bench.AddCommand<BenchTrainStepCommand>("train-step"); });
    config.AddCommand<GenerateCommand>("generate");
    config.AddCommand<PretrainToyCommand>("pretrain-toy");
});
return LoraBake.Cli.ErrorReporting.Run(() => app.Run(args));
