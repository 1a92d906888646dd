using System.Text.Json;
using Calhook.Changes;
using Calhook.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

/// <summary>
/// What every <see cref="ICalhookStore"/> must do. An implementation's test class derives from this one and says how
/// to create an empty, migrated store.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    private ICalhookStore? _store;

    protected ICalhookStore Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    /// <summary>Every store call gives up after two minutes, so a hung test fails instead of hanging the run.</summary>
    protected CancellationToken Ct => _timeout.Token;

    /// <summary>An empty store with its schema applied.</summary>
    protected abstract Task<ICalhookStore> CreateStoreAsync();

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual Task DisposeAsync()
    {
        (_store as IDisposable)?.Dispose();
        _timeout.Dispose();
        return Task.CompletedTask;
    }

    protected async Task<WatchRecord> AddWatchAsync(string calendarId = "alice@example.com")
    {
        var account = Some.Account();
        await Store.AddAccountAsync(account, Ct);
        var watch = Some.Watch(account.Id, calendarId);
        await Store.AddWatchAsync(watch, Ct);
        return watch;
    }

    [Fact]
    public async Task Account_round_trips_and_its_status_changes()
    {
        var account = Some.Account() with { Kind = AccountKind.ServiceAccount, Subject = "bob@example.com" };
        await Store.AddAccountAsync(account, Ct);

        Assert.Equal(account, await Store.GetAccountAsync(account.Id, Ct));

        await Store.SetAccountStatusAsync(account.Id, AccountStatus.NeedsReauth, "invalid_grant", Ct);
        Assert.Equal(account with { Status = AccountStatus.NeedsReauth, Error = "invalid_grant" }, await Store.GetAccountAsync(account.Id, Ct));
    }

    [Fact]
    public async Task Unknown_ids_read_as_null_and_updates_of_them_change_nothing()
    {
        Assert.Null(await Store.GetAccountAsync("acc_missing", Ct));
        Assert.Null(await Store.GetWatchAsync("wat_missing", Ct));
        Assert.Null(await Store.GetChannelAsync("chn_missing", Ct));
        Assert.Equal(new SyncState(null, null), await Store.GetSyncStateAsync("wat_missing", Ct));

        await Store.StopWatchAsync("wat_missing", Ct);
        await Store.SetSyncProblemAsync("wat_missing", new WatchProblem(WatchProblemKind.Error, "x"), Ct);
        await Store.RecordNotificationsAsync([new("wat_missing", Some.Time)], Ct);
        await Store.MarkChannelStoppedAsync("chn_missing", Some.Time, Ct);
        Assert.Empty(await Store.ListWatchesAsync(Ct));
    }

    [Fact]
    public async Task The_last_notifications_of_many_watches_are_recorded_in_one_call()
    {
        var first = await AddWatchAsync("one@example.com");
        var second = await AddWatchAsync("two@example.com");

        await Store.RecordNotificationsAsync(
            [new(first.Id, Some.Time.AddMinutes(1)), new("wat_missing", Some.Time), new(second.Id, Some.Time.AddMinutes(2))], Ct);
        await Store.RecordNotificationsAsync([], Ct);

        Assert.Equal(Some.Time.AddMinutes(1), (await Store.GetWatchAsync(first.Id, Ct))!.LastNotificationAt);
        Assert.Equal(Some.Time.AddMinutes(2), (await Store.GetWatchAsync(second.Id, Ct))!.LastNotificationAt);
        Assert.Equal(2, (await Store.ListWatchesAsync(Ct)).Count);
    }

    [Fact]
    public async Task Watch_round_trips_and_records_status_and_notifications()
    {
        var watch = await AddWatchAsync();
        Assert.Equal(watch, await Store.GetWatchAsync(watch.Id, Ct));

        await Store.SetSyncProblemAsync(watch.Id, new WatchProblem(WatchProblemKind.Error, "403 forbidden"), Ct);
        await Store.RecordNotificationsAsync([new(watch.Id, Some.Time.AddMinutes(1))], Ct);

        var stored = await Store.GetWatchAsync(watch.Id, Ct);
        Assert.Equal(watch with
        {
            Status = WatchStatus.Failing, Error = "403 forbidden", LastNotificationAt = Some.Time.AddMinutes(1),
            SyncProblem = new WatchProblem(WatchProblemKind.Error, "403 forbidden"),
        }, stored);
    }

    [Fact]
    public async Task List_of_watches_leaves_out_stopped_ones()
    {
        var kept = await AddWatchAsync("a@example.com");
        var stopped = await AddWatchAsync("b@example.com");
        await Store.StopWatchAsync(stopped.Id, Ct);

        var listed = await Store.ListWatchesAsync(Ct);

        Assert.Equal([kept.Id], listed.Select(w => w.Id));
    }

    [Fact]
    public async Task Channel_is_recorded_confirmed_and_stopped_once()
    {
        var watch = await AddWatchAsync();
        var channel = Some.Channel(watch.Id);
        var other = Some.Channel(watch.Id);
        await Store.AddChannelAsync(channel, Ct);
        await Store.AddChannelAsync(other, Ct);
        Assert.Equal(channel, await Store.GetChannelAsync(channel.Id, Ct));

        var expiry = Some.Time.AddDays(7);
        await Store.ConfirmChannelAsync(channel.Id, "res_1", expiry, Ct);
        Assert.Equal(channel with { ResourceId = "res_1", ExpiresAt = expiry }, await Store.GetChannelAsync(channel.Id, Ct));

        await Store.MarkChannelStoppedAsync(other.Id, Some.Time.AddHours(1), Ct);
        await Store.MarkChannelStoppedAsync(other.Id, Some.Time.AddHours(2), Ct);

        Assert.Equal([channel.Id], (await Store.ListOpenChannelsAsync(Ct)).Select(c => c.Id));
        Assert.Equal(Some.Time.AddHours(1), (await Store.GetChannelAsync(other.Id, Ct))!.StoppedAt);
    }

    [Fact]
    public async Task Sync_state_is_empty_before_the_baseline()
    {
        var watch = await AddWatchAsync();

        Assert.Equal(new SyncState(null, null), await Store.GetSyncStateAsync(watch.Id, Ct));
        Assert.Equal(0, await Store.GetLastSequenceAsync(Ct));
        Assert.Empty(await Store.ReadChangesAsync(new ChangeQuery(0, 100), Ct));
    }
}
