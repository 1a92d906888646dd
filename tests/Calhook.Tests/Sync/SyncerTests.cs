using System.Text.Json;
using Calhook.Changes;
using Calhook.Google;
using Calhook.Storage;
using Calhook.Storage.Sqlite;
using Calhook.Sync;
using Calhook.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Sync;

/// <summary>The syncer against a real SQLite store in a temp folder and a scripted events.list.</summary>
public sealed class SyncerTests : IAsyncLifetime, IDisposable
{
    private readonly TestDirectory _dir = new();
    private readonly ScriptedGoogle _google = new();
    private readonly ChangeNotifier _notifier = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
    private readonly SqliteStore _store;
    private readonly Syncer _syncer;
    private readonly WatchRecord _watch = new("wat_1", "acc_1", "alice@example.com", WatchStatus.Active, null, default, null, null);

    public SyncerTests()
    {
        _store = new SqliteStore(_dir.File("calhook.db"));
        _syncer = new Syncer(_store, _google.Reader, _notifier, new ChangeIds(_time), _time, NullLogger<Syncer>.Instance);
    }

    public async Task InitializeAsync()
    {
        await _store.MigrateAsync(CancellationToken.None);
        await _store.AddAccountAsync(new AccountRecord("acc_1", AccountKind.OAuth, "alice@example.com", null, "x", AccountStatus.Active, null, default), CancellationToken.None);
        await _store.AddWatchAsync(_watch, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    private static string Ev(string id, string summary, string etag = "1") =>
        $$$"""{"id":"{{{id}}}","etag":"{{{etag}}}","status":"confirmed","summary":"{{{summary}}}","start":{"date":"2026-12-01"},"end":{"date":"2026-12-02"}}""";

    private static string Gone(string id) => $$"""{"id":"{{id}}","status":"cancelled"}""";

    private Task<SyncOutcome> Sync() => _syncer.SyncAsync(_watch.Id, CancellationToken.None);

    private async Task<string> Log()
    {
        var changes = await _store.ReadChangesAsync(new ChangeQuery(0, 1000), CancellationToken.None);
        return string.Join(", ", changes.Select(c => $"{c.Sequence}:{c.Type}:{c.EventId}"));
    }

    [Fact]
    public async Task Baseline_reads_every_page_stores_the_final_token_and_reports_nothing()
    {
        _google.List(null, "t1", [Ev("a", "A")], [Ev("b", "B")], [Ev("c", "C")]);

        var outcome = await Sync();

        Assert.Equal(SyncResult.Synced, outcome.Result);
        Assert.Equal(3, _google.Calls.Count);
        Assert.Equal("", await Log());
        Assert.Equal("t1", (await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(["a", "b", "c"], await _store.ListSnapshotIdsAsync(_watch.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Incremental_results_on_several_pages_merge_into_one_commit_with_one_change_per_event()
    {
        _google.List(null, "t1", [Ev("a", "A"), Ev("b", "B")]);
        await Sync();
        _google.List("t1", "t2", [Ev("a", "A1", "2"), Ev("new", "N")], [Gone("b")], [Ev("a", "A2", "3")]);
        var nextCommit = _notifier.NextCommit;

        var outcome = await Sync();

        Assert.Equal(3, outcome.ChangesAppended);
        Assert.Equal("1:event.created:new, 2:event.deleted:b, 3:event.updated:a", await Log());
        var update = (await _store.ReadChangesAsync(new ChangeQuery(2, 10), CancellationToken.None))[0];
        Assert.Equal("A2", update.Event!.Value.GetProperty("summary").GetString());
        Assert.Equal("A", update.Previous!.Value.GetProperty("summary").GetString());
        Assert.True(nextCommit.IsCompleted);
        Assert.Equal(3, _notifier.LastSequence);
        Assert.Equal("t2", (await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
    }

    [Fact]
    public async Task After_a_410_the_full_resync_emits_only_real_differences_and_deletions_from_the_gap()
    {
        _google.List(null, "t1", [Ev("same", "S"), Ev("edited", "E"), Ev("deleted-in-gap", "D")]);
        await Sync();
        _google.Fail("t1", null, GoogleErrorKind.FullSyncRequired, 410);
        _google.List(null, "t9", [Ev("same", "S", "7"), Ev("edited", "E2", "8")], [Ev("added-in-gap", "N")]);

        var outcome = await Sync();

        Assert.Equal(SyncResult.Synced, outcome.Result);
        Assert.Equal("1:event.updated:edited, 2:event.created:added-in-gap, 3:event.deleted:deleted-in-gap", await Log());
        Assert.Equal("t9", (await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(["added-in-gap", "edited", "same"], await _store.ListSnapshotIdsAsync(_watch.Id, CancellationToken.None));
    }

    [Fact]
    public async Task A_failure_on_a_later_page_commits_nothing_and_the_retry_reports_each_change_once()
    {
        _google.List(null, "t1", [Ev("a", "A")]);
        await Sync();
        _google.List("t1", "t2", [Ev("a", "A1", "2")], [Ev("b", "B")]);
        _google.Fail("t1", "t1-p1", GoogleErrorKind.Transient, 503);

        var failed = await Sync();

        Assert.Equal(SyncResult.RetryLater, failed.Result);
        Assert.Equal("", await Log());
        Assert.Equal("t1", (await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
        var watch = await _store.GetWatchAsync(_watch.Id, CancellationToken.None);
        Assert.Equal(WatchStatus.Failing, watch!.Status);
        Assert.NotNull(watch.Error);

        _google.List("t1", "t2", [Ev("a", "A1", "2")], [Ev("b", "B")]);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);
        Assert.Equal("1:event.updated:a, 2:event.created:b", await Log());
        watch = await _store.GetWatchAsync(_watch.Id, CancellationToken.None);
        Assert.Equal(WatchStatus.Active, watch!.Status);
        Assert.Null(watch.Error);
    }

    [Theory]
    [InlineData("NeedsReauth", 401, "Failed", WatchStatus.NeedsReauth)]
    [InlineData("NotFound", 404, "Failed", WatchStatus.Failing)]
    [InlineData("RateLimited", 429, "RetryLater", WatchStatus.Failing)]
    [InlineData("Transient", 503, "RetryLater", WatchStatus.Failing)]
    [InlineData("Other", 400, "Failed", WatchStatus.Failing)]
    public async Task Google_errors_keep_the_state_and_are_recorded_on_the_watch(string errorKind, int status, string expected, WatchStatus watchStatus)
    {
        var kind = Enum.Parse<GoogleErrorKind>(errorKind);
        var result = Enum.Parse<SyncResult>(expected);
        _google.Fail(null, null, kind, status);

        var outcome = await Sync();

        Assert.Equal(result, outcome.Result);
        Assert.Equal(kind, outcome.Error!.Kind);
        var watch = await _store.GetWatchAsync(_watch.Id, CancellationToken.None);
        Assert.Equal(watchStatus, watch!.Status);
        Assert.NotNull(watch.Error);
        Assert.Null((await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
        if (kind == GoogleErrorKind.NotFound)
        {
            Assert.Equal("calendar not found", watch.Error);
        }
    }

    [Fact]
    public async Task A_cancelled_sync_commits_nothing()
    {
        _google.List(null, "t1", [Ev("a", "A")], [Ev("b", "B")]);
        using var cancel = new CancellationTokenSource();
        var reader = _google.Reader;
        var syncer = new Syncer(_store, (a, c, s, p, ct) =>
        {
            if (p is not null)
            {
                cancel.Cancel(); // the process dies while reading page 2
            }

            ct.ThrowIfCancellationRequested();
            return reader(a, c, s, p, cancel.Token);
        }, _notifier, new ChangeIds(_time), _time, NullLogger<Syncer>.Instance);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => syncer.SyncAsync(_watch.Id, cancel.Token));

        Assert.Empty(await _store.ListSnapshotIdsAsync(_watch.Id, CancellationToken.None));
        Assert.Null((await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);
        Assert.Equal(["a", "b"], await _store.ListSnapshotIdsAsync(_watch.Id, CancellationToken.None));
    }

    [Fact]
    public async Task A_stopped_or_unknown_watch_is_skipped_without_calling_Google()
    {
        Assert.Equal(SyncResult.Skipped, (await _syncer.SyncAsync("wat_unknown", CancellationToken.None)).Result);
        await _store.SetWatchStatusAsync(_watch.Id, WatchStatus.Stopped, null, CancellationToken.None);
        Assert.Equal(SyncResult.Skipped, (await Sync()).Result);
        Assert.Empty(_google.Calls);
    }

    [Fact]
    public async Task A_last_page_without_a_sync_token_fails_instead_of_forgetting_the_position()
    {
        _google.List(null, "t1", [Ev("a", "A")]);
        await Sync();
        var items = new List<JsonElement> { JsonDocument.Parse(Ev("a", "A2", "2")).RootElement.Clone() };
        var syncer = new Syncer(_store, (_, _, _, _, _) => Task.FromResult(GoogleResponse<EventsPage>.Ok(new EventsPage(items, null, null))),
            _notifier, new ChangeIds(_time), _time, NullLogger<Syncer>.Instance);

        Assert.Equal(SyncResult.Failed, (await syncer.SyncAsync(_watch.Id, CancellationToken.None)).Result);
        Assert.Equal("", await Log());
        Assert.Equal("t1", (await _store.GetSyncStateAsync(_watch.Id, CancellationToken.None)).SyncToken);
    }
}
