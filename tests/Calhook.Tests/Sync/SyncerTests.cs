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
public sealed class SyncerTests : SyncerTestBase
{
    [Fact]
    public async Task Baseline_reads_every_page_stores_the_final_token_and_reports_nothing()
    {
        Google.List(null, "t1", [Ev("a", "A")], [Ev("b", "B")], [Ev("c", "C")]);

        var outcome = await Sync();

        Assert.Equal(SyncResult.Synced, outcome.Result);
        Assert.Equal(3, Google.Calls.Count);
        Assert.Equal("", await Log());
        Assert.Equal("t1", (await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(["a", "b", "c"], await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Incremental_results_on_several_pages_merge_into_one_commit_with_one_change_per_event()
    {
        Google.List(null, "t1", [Ev("a", "A"), Ev("b", "B")]);
        await Sync();
        Google.List("t1", "t2", [Ev("a", "A1", "2"), Ev("new", "N")], [Gone("b")], [Ev("a", "A2", "3")]);
        var nextCommit = Notifier.NextCommit;

        var outcome = await Sync();

        Assert.Equal(3, outcome.ChangesAppended);
        Assert.Equal("1:event.created:new, 2:event.deleted:b, 3:event.updated:a", await Log());
        var update = (await Store.ReadChangesAsync(new ChangeQuery(2, 10), CancellationToken.None))[0];
        Assert.Equal("A2", update.Event!.Value.GetProperty("summary").GetString());
        Assert.Equal("A", update.Previous!.Value.GetProperty("summary").GetString());
        Assert.True(nextCommit.IsCompleted);
        Assert.Equal(3, Notifier.LastSequence);
        Assert.Equal("t2", (await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
    }

    [Fact]
    public async Task After_a_410_the_full_resync_emits_only_real_differences_and_deletions_from_the_gap()
    {
        Google.List(null, "t1", [Ev("same", "S"), Ev("edited", "E"), Ev("deleted-in-gap", "D")]);
        await Sync();
        Google.Fail("t1", null, GoogleErrorKind.FullSyncRequired, 410);
        Google.List(null, "t9", [Ev("same", "S", "7"), Ev("edited", "E2", "8")], [Ev("added-in-gap", "N")]);

        var outcome = await Sync();

        Assert.Equal(SyncResult.Synced, outcome.Result);
        Assert.Equal("1:event.updated:edited, 2:event.created:added-in-gap, 3:event.deleted:deleted-in-gap", await Log());
        Assert.Equal("t9", (await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(["added-in-gap", "edited", "same"], await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
    }

    [Fact]
    public async Task A_sync_token_Google_cannot_read_400_invalid_is_a_full_resync_like_a_410()
    {
        Google.List(null, "t1", [Ev("same", "S"), Ev("edited", "E"), Ev("deleted-in-gap", "D")]);
        await Sync();
        Google.Fail("t1", null, GoogleErrorKind.Other, 400, "invalid");
        Google.List(null, "t9", [Ev("same", "S", "7"), Ev("edited", "E2", "8")]);

        var outcome = await Sync();

        Assert.Equal(SyncResult.Synced, outcome.Result);
        Assert.Equal("1:event.updated:edited, 2:event.deleted:deleted-in-gap", await Log());
        Assert.Equal("t9", (await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(WatchStatus.Active, (await Store.GetWatchAsync(Watch.Id, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task A_400_on_the_full_list_itself_fails_the_watch_instead_of_looping()
    {
        Google.List(null, "t1", [Ev("a", "A")]);
        await Sync();
        Google.Fail("t1", null, GoogleErrorKind.Other, 400, "invalid");
        Google.Fail(null, null, GoogleErrorKind.Other, 400, "invalid");

        var outcome = await Sync();

        Assert.Equal(SyncResult.Failed, outcome.Result);
        Assert.Equal([("t1", (string?)null), (null, null)], Google.Calls.Skip(1));
        Assert.Equal("t1", (await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
    }

    [Fact]
    public async Task A_failure_on_a_later_page_commits_nothing_and_the_retry_reports_each_change_once()
    {
        Google.List(null, "t1", [Ev("a", "A")]);
        await Sync();
        Google.List("t1", "t2", [Ev("a", "A1", "2")], [Ev("b", "B")]);
        Google.Fail("t1", "t1-p1", GoogleErrorKind.Transient, 503);

        var failed = await Sync();

        Assert.Equal(SyncResult.RetryLater, failed.Result);
        Assert.Equal("", await Log());
        Assert.Equal("t1", (await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
        var watch = await Store.GetWatchAsync(Watch.Id, CancellationToken.None);
        Assert.Equal(WatchStatus.Failing, watch!.Status);
        Assert.NotNull(watch.Error);

        Google.List("t1", "t2", [Ev("a", "A1", "2")], [Ev("b", "B")]);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);
        Assert.Equal("1:event.updated:a, 2:event.created:b", await Log());
        watch = await Store.GetWatchAsync(Watch.Id, CancellationToken.None);
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
        Google.Fail(null, null, kind, status);

        var outcome = await Sync();

        Assert.Equal(result, outcome.Result);
        Assert.Equal(kind, outcome.Error!.Kind);
        var watch = await Store.GetWatchAsync(Watch.Id, CancellationToken.None);
        Assert.Equal(watchStatus, watch!.Status);
        Assert.NotNull(watch.Error);
        Assert.Null((await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
        if (kind == GoogleErrorKind.NotFound)
        {
            Assert.Equal("calendar not found", watch.Error);
        }
    }

    [Fact]
    public async Task A_cancelled_sync_commits_nothing()
    {
        Google.List(null, "t1", [Ev("a", "A")], [Ev("b", "B")]);
        using var cancel = new CancellationTokenSource();
        var reader = Google.Reader;
        var syncer = new Syncer(Store, (a, c, s, p, ct) =>
        {
            if (p is not null)
            {
                cancel.Cancel(); // the process dies while reading page 2
            }

            ct.ThrowIfCancellationRequested();
            return reader(a, c, s, p, cancel.Token);
        }, Notifier, new ChangeIds(Time), Time, NullLogger<Syncer>.Instance);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => syncer.SyncAsync(Watch.Id, cancel.Token));

        Assert.Empty(await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
        Assert.Null((await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
        Assert.Equal(SyncResult.Synced, (await Sync()).Result);
        Assert.Equal(["a", "b"], await Store.ListSnapshotIdsAsync(Watch.Id, CancellationToken.None));
    }

    [Fact]
    public async Task A_stopped_or_unknown_watch_is_skipped_without_calling_Google()
    {
        Assert.Equal(SyncResult.Skipped, (await Syncer.SyncAsync("wat_unknown", CancellationToken.None)).Result);
        await Store.StopWatchAsync(Watch.Id, CancellationToken.None);
        Assert.Equal(SyncResult.Skipped, (await Sync()).Result);
        Assert.Empty(Google.Calls);
    }

    [Fact]
    public async Task A_last_page_without_a_sync_token_fails_instead_of_forgetting_the_position()
    {
        Google.List(null, "t1", [Ev("a", "A")]);
        await Sync();
        var items = new List<JsonElement> { JsonDocument.Parse(Ev("a", "A2", "2")).RootElement.Clone() };
        var syncer = new Syncer(Store, (_, _, _, _, _) => Task.FromResult(GoogleResponse<EventsPage>.Ok(new EventsPage(items, null, null))),
            Notifier, new ChangeIds(Time), Time, NullLogger<Syncer>.Instance);

        Assert.Equal(SyncResult.Failed, (await syncer.SyncAsync(Watch.Id, CancellationToken.None)).Result);
        Assert.Equal("", await Log());
        Assert.Equal("t1", (await Store.GetSyncStateAsync(Watch.Id, CancellationToken.None)).SyncToken);
    }
}
