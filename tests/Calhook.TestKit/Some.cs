using System.Globalization;
using System.Text.Json.Nodes;
using Calhook.Changes;
using Calhook.Storage;

namespace Calhook.TestKit;

/// <summary>
/// The one test-data builder of every test project: Calendar API bodies for the emulator and store records with
/// plausible defaults. Each call that makes a record makes new ids; add to it rather than writing data inline elsewhere.
/// </summary>
public static class Some
{
    /// <summary>A fixed, sub-millisecond-precise instant: times must round-trip to the tick.</summary>
    public static readonly DateTimeOffset Time = new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);

    /// <summary>A Monday morning, whole to the second, for events the emulator stores.</summary>
    public static readonly DateTimeOffset Monday = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static int Next;

    /// <summary>A new id with the prefix, unique in the test run.</summary>
    public static string Id(string prefix) => $"{prefix}_{Interlocked.Increment(ref Next):D6}";

    /// <summary>An events.insert body: a timed event of <paramref name="length"/> (one hour unless given).</summary>
    public static JsonObject Event(string summary, DateTimeOffset start, TimeSpan? length = null) => new()
    {
        ["summary"] = summary,
        ["start"] = new JsonObject { ["dateTime"] = start.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture) },
        ["end"] = new JsonObject { ["dateTime"] = (start + (length ?? TimeSpan.FromHours(1))).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture) },
    };

    /// <summary>An events.insert body of a recurring series of one-hour occurrences in <paramref name="zone"/>.</summary>
    public static JsonObject Series(string summary, string localStart, string zone, params string[] recurrence) => new()
    {
        ["summary"] = summary,
        ["start"] = new JsonObject { ["dateTime"] = localStart, ["timeZone"] = zone },
        ["end"] = new JsonObject { ["dateTime"] = DateTime.Parse(localStart, CultureInfo.InvariantCulture).AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture), ["timeZone"] = zone },
        ["recurrence"] = new JsonArray(recurrence.Select(r => (JsonNode)r!).ToArray()),
    };

    /// <summary>A stored event's JSON, as Google answers it (the fields the store and the feed look at).</summary>
    public static string EventJson(string eventId, string summary = "Standup") =>
        $$"""{"kind":"calendar#event","id":"{{eventId}}","status":"confirmed","summary":"{{summary}}"}""";

    public static AccountRecord Account() =>
        new(Id("acc"), AccountKind.OAuth, "alice@example.com", null, "protected-refresh-token", AccountStatus.Active, null, Time);

    public static WatchRecord Watch(string accountId, string calendarId = "alice@example.com") =>
        new(Id("wat"), accountId, calendarId, WatchStatus.Starting, null, Time, null, null);

    public static ChannelRecord Channel(string watchId) =>
        new(Id("chn"), watchId, "protected-channel-token", null, null, Time, null);

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
