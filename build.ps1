# LoraBake bootstrapper (Windows/PowerShell): same as build.sh.
#   ./build.ps1 --target=Train --project=demo
$ErrorActionPreference = 'Stop'
Set-Location -LiteralPath $PSScriptRoot
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

dotnet tool restore | Out-Null
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
dotnet build src/LoraBake.Cli/LoraBake.Cli.csproj -c Release -nologo -v quiet "-clp:NoSummary;ErrorsOnly"
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
dotnet cake build.cake @args
exit $LASTEXITCODE
