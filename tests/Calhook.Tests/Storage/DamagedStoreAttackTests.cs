using System.Security.Cryptography;
using Calhook.Storage;
using Calhook.Tests.Cli;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Storage;

/// <summary>
/// A store file that exists but is empty or damaged stops the start-up with one line that names the file and what to
/// do, and is left exactly as it was: a new store is created only where none existed.
/// </summary>
public sealed class DamagedStoreAttackTests
{
    [Fact]
    public async Task An_emptied_store_file_stops_the_start_and_is_left_untouched()
    {
        using var data = new TestDirectory();
        var database = data.File(StorageSetup.SqliteFileName);
        await File.WriteAllBytesAsync(database, []);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => CalhookTestHost.StartAsync(new CalhookTestHostOptions { DataDirectory = data.Path }));

        Assert.Contains(database, error.Message, StringComparison.Ordinal);
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, new FileInfo(database).Length);
        Assert.False(File.Exists(database + "-wal"));
        Assert.False(File.Exists(database + "-shm"));
    }

    [Fact]
    public async Task A_store_with_random_bytes_in_the_middle_stops_the_start_and_is_left_untouched()
    {
        using var data = new TestDirectory();
        var database = data.File(StorageSetup.SqliteFileName);
        await using (var host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions { DataDirectory = data.Path }))
        {
            var store = host.Services.GetRequiredService<ICalhookStore>();
            for (var i = 0; i < 50; i++)
            {
                await store.AddAccountAsync(new AccountRecord($"acc_{i}", AccountKind.OAuth, $"user{i}@example.com", null, new string('s', 200),
                    AccountStatus.Active, null, DateTimeOffset.UnixEpoch), CancellationToken.None);
            }
        }

        // Page 2 onwards holds the tables: overwrite one of them with noise. The page size is the big-endian 16-bit
        // number at offset 16 of the file's header.
        var header = new byte[100];
        await using (var file = new FileStream(database, FileMode.Open, FileAccess.Read))
        {
            await file.ReadExactlyAsync(header);
        }

        var pageSize = (header[16] << 8) | header[17];
        Assert.True(new FileInfo(database).Length >= 3 * pageSize, "the store has more than two pages");
        await using (var file = new FileStream(database, FileMode.Open, FileAccess.Write))
        {
            file.Position = pageSize;
            await file.WriteAsync(RandomNumberGenerator.GetBytes(pageSize));
        }

        var before = Hash(database);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => CalhookTestHost.StartAsync(new CalhookTestHostOptions { DataDirectory = data.Path }));

        Assert.Contains(database, error.Message, StringComparison.Ordinal);
        Assert.Contains("damaged", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Hash(database));
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_stops_the_start_and_is_left_untouched()
    {
        using var data = new TestDirectory();
        var database = data.File(StorageSetup.SqliteFileName);
        await File.WriteAllBytesAsync(database, RandomNumberGenerator.GetBytes(10_000));
        var before = Hash(database);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => CalhookTestHost.StartAsync(new CalhookTestHostOptions { DataDirectory = data.Path }));

        Assert.Contains(database, error.Message, StringComparison.Ordinal);
        Assert.Contains("not a Calhook store", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Hash(database));
        Assert.False(File.Exists(database + "-wal"));
    }

    [Fact]
    public async Task Serve_refuses_an_emptied_store_with_one_line_and_no_stack_trace()
    {
        using var data = new TestDirectory();
        var database = data.File(StorageSetup.SqliteFileName);
        await File.WriteAllBytesAsync(database, []);

        await using var serve = CalhookProcess.Start(
            "serve", "--urls", $"http://127.0.0.1:{CalhookProcess.FreePort()}", "--data", data.Path,
            "--google-url", "http://127.0.0.1:9", "--api-key", "chk_test_0123456789abcdefghijklmnop");
        var exit = await serve.WaitForExitAsync(TimeSpan.FromSeconds(90));

        Assert.Equal(2, exit);
        var line = Assert.Single(serve.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            l => l.StartsWith("calhook: cannot start:", StringComparison.Ordinal));
        Assert.Contains(Path.GetFullPath(database), line, StringComparison.Ordinal);
        Assert.Contains("empty", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", serve.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", serve.Output, StringComparison.Ordinal);
        Assert.Equal(0, new FileInfo(database).Length);
        Assert.False(File.Exists(database + "-wal"));
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
