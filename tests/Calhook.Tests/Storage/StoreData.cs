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

    public static SyncCommit Commit(WatchRecord watch, string token, params NewChange[] changes) =>
        new(watch.Id, watch.CalendarId, Time, changes.Select(c => new SnapshotWrite(c.EventId, c.EventJson)).ToList(), changes, token);
}
