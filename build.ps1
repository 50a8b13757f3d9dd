# LoraBake bootstrapper (Windows/PowerShell): same as build.sh.
#   ./build.ps1 --target=Train --project=demo
$ErrorActionPreference = 'Stop'
Set-Location -LiteralPath $PSScriptRoot
$env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

dotnet tool restore | Out-Null
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

# As in build.sh: skip MSBuild's up-to-date check (~4 s) when a stamp of the build's inputs is unchanged.
$out = 'src/LoraBake.Cli/bin/Release/net10.0'
$stampFile = Join-Path $out '.source-stamp'
$inputs = @('src', 'build/msbuild', 'Directory.Build.props', 'Directory.Build.targets', 'global.json', '.config') |
    ForEach-Object { Get-ChildItem -LiteralPath $_ -File -Recurse } |
    Where-Object { $_.FullName -notmatch '[\\/](bin|obj)[\\/]' } |
    Sort-Object { [System.IO.Path]::GetRelativePath($PSScriptRoot, $_.FullName).Replace('\', '/') } -Culture 'invariant'
$lines = $inputs | ForEach-Object { (Get-FileHash -Algorithm SHA256 -LiteralPath $_.FullName).Hash + ' ' + [System.IO.Path]::GetRelativePath($PSScriptRoot, $_.FullName) }
$stamp = [System.BitConverter]::ToString([System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes(($lines -join "`n")))).Replace('-', '')
# The backend is a build setting too: TorchBackend=cuda after a CPU build must rebuild.
$stamp += ' TorchBackend=' + $(if ($env:TorchBackend) { $env:TorchBackend } else { 'cpu' })
$previous = if (Test-Path -LiteralPath $stampFile) { (Get-Content -LiteralPath $stampFile -Raw).Trim() } else { '' }
if (-not (Test-Path -LiteralPath (Join-Path $out 'lorabake.dll')) -or $previous -ne $stamp) {
    dotnet build src/LoraBake.Cli/LoraBake.Cli.csproj -c Release -nologo -v quiet "-clp:NoSummary;ErrorsOnly"
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    Set-Content -LiteralPath $stampFile -Value $stamp
}
dotnet cake build.cake @args
exit $LASTEXITCODE
