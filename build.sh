#!/usr/bin/env bash
# LoraBake bootstrapper: restore the pinned Cake tool, build the lorabake CLI once (Release), then run
# build.cake with every argument passed through, e.g. ./build.sh --target=Train --project=demo
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet tool restore >/dev/null

# One build per run; every Cake task then runs the built program (no per-task rebuild). MSBuild's own
# up-to-date check costs ~4 s, most of a no-op rerun, so it is skipped when a stamp of every input of the
# build (the sources and the build settings) equals the one written after the last successful build.
out=src/LoraBake.Cli/bin/Release/net10.0
stamp_file=$out/.source-stamp
source_stamp() {
  find src build/msbuild Directory.Build.props Directory.Build.targets global.json .config \
      -type f -not -path '*/bin/*' -not -path '*/obj/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
# The backend is a build setting too: TorchBackend=cuda after a CPU build must rebuild.
stamp="$(source_stamp) TorchBackend=${TorchBackend:-cpu}"
if [ ! -f "$out/lorabake.dll" ] || [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
  dotnet build src/LoraBake.Cli/LoraBake.Cli.csproj -c Release -nologo -v quiet "-clp:NoSummary;ErrorsOnly"
  echo "$stamp" > "$stamp_file"
fi
exec dotnet cake build.cake "$@"
