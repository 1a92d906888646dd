using System.Net;
using System.Net.Http.Headers;
using Calhook.Storage;
using Calhook.Tests.Cli;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Hosting;

/// <summary>Other local users can read nothing of Calhook's: its files are the service user's only, and the key stays off screens.</summary>
public sealed class LocalReaderAttackTests
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    [Fact]
    public async Task The_data_directory_and_the_store_files_are_readable_by_their_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix file modes
        }

        using var root = new TestDirectory();
        var data = root.File("data");
        var options = new CalhookTestHostOptions { DataDirectory = data };
        options.Settings["Calhook:ApiKey"] = null;
        await using var host = await CalhookTestHost.StartAsync(options);
        // A write, so the WAL and its index exist while the service runs.
        await host.Services.GetRequiredService<ICalhookStore>().AddAccountAsync(new AccountRecord("acc_1", AccountKind.OAuth, "a@example.com", null,
            "secret", AccountStatus.Active, null, DateTimeOffset.UnixEpoch), CancellationToken.None);

        var database = Path.Combine(data, StorageSetup.SqliteFileName);
        Assert.Equal(OwnerOnlyDirectory, File.GetUnixFileMode(data));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(database));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(database + "-wal"));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(database + "-shm"));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(Path.Combine(data, "api-key")));
    }

    [Fact]
    public async Task A_store_left_readable_by_others_is_made_owner_only_at_start()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix file modes
        }

        using var data = new TestDirectory();
        await using (await CalhookTestHost.StartAsync(new CalhookTestHostOptions { DataDirectory = data.Path }))
        {
        }

        var database = data.File(StorageSetup.SqliteFileName);
        File.SetUnixFileMode(database, OwnerOnlyFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using var host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions { DataDirectory = data.Path });

        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(database));
    }

    [Fact]
    public async Task Serve_prints_a_generated_key_once_and_never_again()
    {
        using var data = new TestDirectory();
        var port = CalhookProcess.FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        string key;
        await using (var first = CalhookProcess.Start(Serve(baseAddress, data.Path)))
        {
            await first.WaitUntilHealthyAsync(baseAddress, TimeSpan.FromSeconds(90));
            key = (await File.ReadAllTextAsync(data.File("api-key"))).Trim();
            Assert.Contains(key, first.Output, StringComparison.Ordinal);
        }

        await using var second = CalhookProcess.Start(Serve(baseAddress, data.Path));
        await second.WaitUntilHealthyAsync(baseAddress, TimeSpan.FromSeconds(90));

        Assert.DoesNotContain(key, second.Output, StringComparison.Ordinal);
        Assert.Contains(data.File("api-key"), second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_reads_the_key_from_a_file_and_never_prints_it()
    {
        using var data = new TestDirectory();
        var keyFile = data.File("my-key");
        const string Key = "chk_from_a_file_0123456789abcdef";
        await File.WriteAllTextAsync(keyFile, Key + "\n");
        var port = CalhookProcess.FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");

        await using var serve = CalhookProcess.Start([.. Serve(baseAddress, data.File("data")), "--api-key-file", keyFile]);
        await serve.WaitUntilHealthyAsync(baseAddress, TimeSpan.FromSeconds(90));

        using var http = new HttpClient { BaseAddress = baseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/v1/watches", UriKind.Relative))).StatusCode);
        Assert.DoesNotContain(Key, serve.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(data.File("data/api-key")), "no key is generated when one is given");
    }

    [Fact]
    public async Task Serve_with_an_unreadable_key_file_stops_and_names_the_option()
    {
        using var data = new TestDirectory();
        await using var serve = CalhookProcess.Start([.. Serve(new Uri($"http://127.0.0.1:{CalhookProcess.FreePort()}/"), data.Path), "--api-key-file", data.File("missing")]);

        Assert.Equal(2, await serve.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Contains("--api-key-file", serve.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", serve.Output, StringComparison.Ordinal);
    }

    private static string[] Serve(Uri baseAddress, string data) =>
        ["serve", "--urls", baseAddress.ToString().TrimEnd('/'), "--data", data, "--google-url", "http://127.0.0.1:9"];
}
