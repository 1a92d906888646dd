using Calhook.Cli.Commands;
using Calhook.TestKit;
using Microsoft.Extensions.Configuration;

namespace Calhook.Tests.Cli;

/// <summary>
/// <c>calhook serve</c> reads appsettings.json from its working directory once: a watch for changes would watch the
/// whole directory, and the data directory (the database and its WAL) lies inside it by default.
/// </summary>
public sealed class SettingsWatchTests
{
    [Fact]
    public async Task The_service_reads_its_settings_file_without_watching_the_working_directory()
    {
        using var data = new TestDirectory();
        await using var app = CalhookApp.Build("http://127.0.0.1:0", new Dictionary<string, string?> { ["Calhook:DataDirectory"] = data.Path }, quiet: true);

        var files = ((IConfigurationRoot)app.Configuration).Providers.OfType<FileConfigurationProvider>().ToList();
        Assert.Contains(files, f => f.Source.Path == "appsettings.json");
        Assert.All(files, f => Assert.False(f.Source.ReloadOnChange, $"{f.Source.Path} is watched for changes"));
    }
}
