using Calhook.Changes;
using Calhook.Storage;

namespace Calhook.Tests.Storage;

/// <summary>Builders of store records with plausible defaults; each call makes new ids.</summary>
internal static class Some
{
    /// <summary>A fixed, sub-millisecond-precise instant: times must round-trip to the tick.</summary>
    public static readonly DateTimeOffset Time = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);

    private static int Next;

    public static string Id(string prefix) => $"{prefix}_{Interlocked.Increment(ref Next):D6}";

    public static AccountRecord Account() =>
        new(Id("acc"), AccountKind.OAuth, "alice@example.com", null, "protected-refresh-token", AccountStatus.Active, null, Time);

    public static WatchRecord Watch(string accountId, string calendarId = "alice@example.com") =>
        new(Id("wat"), accountId, calendarId, WatchStatus.Starting, null, Time, null, null);

    public static ChannelRecord Channel(string watchId) =>
        new(Id("chn"), watchId, "protected-channel-token", null, null, Time, null);

    public static string EventJson(string eventId, string summary = "Standup") =>
        $$"""{"kind":"calendar#event","id":"{{eventId}}","status":"confirmed","summary":"{{summary}}"}""";

    public static NewChange Created(string eventId) =>
        new(Id("chg"), ChangeTypes.Created, eventId, null, null, EventJson(eventId), null, []);

    public static NewChange Deleted(string eventId) =>
        new(Id("chg"), ChangeTypes.Deleted, eventId, null, null, null, EventJson(eventId), []);

    /// <summary>
    /// A sync of the watch from its baseline state (no sync token yet) to <paramref name="token"/>; a later sync says
    /// which token it started from with <c>with { ExpectedSyncToken = … }</c> (the store's fence checks it).
    /// </summary>
    public static SyncCommit Commit(WatchRecord watch, string token, params NewChange[] changes) =>
        new(watch.Id, watch.CalendarId, Time, changes.Select(c => new SnapshotWrite(c.EventId, c.EventJson)).ToList(), changes, token, ExpectedSyncToken: null);
}

/// <summary>Store helpers for tests that fill the change log without caring which sync token came before.</summary>
internal static class StoreCommits
{
    /// <summary>
    /// Commits <paramref name="commit"/> as the watch's next sync: from the sync token the watch has now (the store's
    /// fence checks it). For callers that commit one at a time, as one syncer does.
    /// </summary>
    public static async Task<IReadOnlyList<Change>> CommitNextAsync(this ICalhookStore store, SyncCommit commit, CancellationToken cancellationToken)
    {
        var from = (await store.GetSyncStateAsync(commit.WatchId, cancellationToken)).SyncToken;
        return await store.CommitSyncAsync(commit with { ExpectedSyncToken = from }, cancellationToken);
    }
}
