using Calhook.Storage;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Hosting;

public sealed class StoreStartupTests
{
    [Fact]
    public async Task The_store_is_migrated_in_a_data_directory_created_at_start()
    {
        using var root = new TestDirectory();
        var dataDirectory = root.File("nested/data");

        await using var host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions { DataDirectory = dataDirectory });

        Assert.True(File.Exists(Path.Combine(dataDirectory, StorageSetup.SqliteFileName)));
        Assert.Equal(0, await host.Services.GetRequiredService<ICalhookStore>().GetLastSequenceAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_store_that_cannot_open_stops_the_start_with_a_clear_message()
    {
        using var dataDirectory = new TestDirectory();
        Directory.CreateDirectory(dataDirectory.File(StorageSetup.SqliteFileName));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => CalhookTestHost.StartAsync(new CalhookTestHostOptions { DataDirectory = dataDirectory.Path }));

        Assert.Contains("could not open its store", error.Message, StringComparison.Ordinal);
        Assert.Contains(dataDirectory.File(StorageSetup.SqliteFileName), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Data_survive_a_restart_on_the_same_directory()
    {
        await using var host = await CalhookTestHost.StartAsync();
        var account = new AccountRecord("acc_1", AccountKind.OAuth, "alice@example.com", null, "secret", AccountStatus.Active, null, DateTimeOffset.UnixEpoch);
        await host.Services.GetRequiredService<ICalhookStore>().AddAccountAsync(account, CancellationToken.None);
        var address = host.BaseAddress;

        await host.StopAsync();
        await host.StartAsync();

        Assert.Equal(address, host.BaseAddress);
        Assert.Equal(account, await host.Services.GetRequiredService<ICalhookStore>().GetAccountAsync("acc_1", CancellationToken.None));
    }
}
