// Placeholder: the Pipeline work replaces this with the plan-driven task graph.
var target = Argument("target", "Plan");
Task("Test").Does(() => {
    DotNetTest("../LoraBake.sln", new DotNetTestSettings { Configuration = "Release" });
});
Task("Plan").Does(() => Information("No stages yet."));
RunTarget(target);
