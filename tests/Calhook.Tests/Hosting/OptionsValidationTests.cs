using Calhook.Hosting;
using Calhook.TestKit;
using Microsoft.Extensions.Options;

namespace Calhook.Tests.Hosting;

public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("Calhook:PublicUrl", "not a url")]
    [InlineData("Calhook:PublicUrl", "ftp://example.com")]
    [InlineData("Calhook:Google:BaseUrl", "localhost:8080")]
    [InlineData("Calhook:DataDirectory", "   ")]
    [InlineData("Calhook:Postgres:ConnectionString", "Host=127.0.0.1;Database=calhook")]
    public async Task A_bad_setting_stops_the_host_naming_it(string setting, string value)
    {
        var options = new CalhookTestHostOptions();
        options.Settings[setting] = value;

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => CalhookTestHost.StartAsync(options));

        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_directory_that_is_a_file_stops_the_host()
    {
        using var directory = new TestDirectory();
        var file = directory.File("not-a-directory");
        await File.WriteAllTextAsync(file, "x");
        var options = new CalhookTestHostOptions { DataDirectory = file };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => CalhookTestHost.StartAsync(options));

        Assert.Contains("Calhook:DataDirectory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_short_api_key_is_refused_without_echoing_it()
    {
        var options = new CalhookTestHostOptions();
        options.Settings["Calhook:ApiKey"] = "hunter2";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => CalhookTestHost.StartAsync(options));

        Assert.Contains("Calhook:ApiKey", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_and_typical_settings_are_valid()
    {
        var validator = new CalhookOptionsValidator();
        var typical = new CalhookOptions { PublicUrl = "https://calhook.example.com", ApiKey = CalhookTestHost.TestApiKey };

        Assert.True(validator.Validate(null, new CalhookOptions()).Succeeded);
        Assert.True(validator.Validate(null, typical).Succeeded);
    }

    [Fact]
    public void Every_bad_setting_is_reported_at_once()
    {
        var options = new CalhookOptions { PublicUrl = "nope", DataDirectory = "" };

        var result = new CalhookOptionsValidator().Validate(null, options);

        Assert.Equal(["Calhook:PublicUrl", "Calhook:DataDirectory"], result.Failures!.Select(f => f.Split(' ')[0]));
    }
}
