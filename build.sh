#!/usr/bin/env bash
# LoraBake bootstrapper: restore the pinned Cake tool, build the lorabake CLI once (Release), then run
# build.cake with every argument passed through, e.g. ./build.sh --target=Train --project=demo
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet tool restore >/dev/null
# One build per run; every Cake task then runs the built program (no per-task rebuild).
dotnet build src/LoraBake.Cli/LoraBake.Cli.csproj -c Release -nologo -v quiet "-clp:NoSummary;ErrorsOnly"
exec dotnet cake build.cake "$@"
