using System.Text.Json;

namespace Calhook.Tests.RealGoogle;

/// <summary>
/// What Calhook knew before the recorded edits (built from the recordings), what a full list shows after them, and
/// the feed they must produce.
/// </summary>
internal sealed class Story
{
    public const string Dishes = "68k0p6ackplecqs9fuvbs1fju0";
    public const string EditedDishes = "1kmd7abo2uok36n1pkaemqncba";
    public const string Breakfast = "5hni4sj3ql1669otmjg7sn1mok";
    public const string BreakfastSplit = "e5srrkr361upjc2be22u6ti4pe";
    public const string Meeting = "72o12msae3t6au1lim41i8tu6j";
    public const string Journal = "3i234gl45i6i1s8rpui7dleor0";
    public const string Deleted = "6pbua6vjeic3e73gvponeo1qp6";

    /// <summary>The events Google no longer has after the story: a full list does not name them.</summary>
    private static readonly HashSet<string> GoneAfterwards = new(StringComparer.Ordinal)
    {
        Breakfast + "_20250403T130000Z", Meeting + "_20250327T150000Z", Deleted, Deleted + "_20250326T123000Z",
        "some-event-id-3", // deleted while Calhook's sync token was unusable
    };

    public Story()
    {
        var editedDishes = Recorded.Item("events-incremental-three-instance-exceptions-edited", EditedDishes);
        var breakfast = Recorded.Item("events-incremental-this-and-following-new-series-id", Breakfast);
        var meeting = Recorded.Item("events-incremental-delete-this-and-following-until-cancelled-id-only", Meeting);
        var journal = Recorded.Items("events-incremental-this-and-following-with-prior-exceptions");
        var deleted = Recorded.With(editedDishes, ("id", Deleted), ("summary", "🧍 Standup"), ("iCalUID", Deleted + "@google.com"));
        Baseline =
        [
            editedDishes,
            Recorded.Unending(breakfast),
            Recorded.Exception(breakfast, Breakfast + "_20250403T130000Z", "2025-04-03T08:00:00-05:00", "2025-04-03T09:00:00-05:00", "🍜 Late breakfast"),
            Recorded.Unending(meeting),
            Recorded.Exception(meeting, Meeting + "_20250327T150000Z", "2025-03-27T10:00:00-05:00", "2025-03-27T11:30:00-05:00", "🗣️ Meeting in room 2"),
            Recorded.Exception(meeting, Meeting + "_20250328T150000Z", "2025-03-28T10:00:00-05:00", "2025-03-28T11:30:00-05:00", "🗣️ Meeting in room 3"),
            Recorded.Unending(journal[0]),
            journal[1],
            journal[2],
            deleted,
            Recorded.Exception(deleted, Deleted + "_20250326T123000Z", "2025-03-26T07:30:00-05:00", "2025-03-26T08:15:00-05:00", "🧍 Standup, moved"),
        ];
    }

    public IReadOnlyList<string> Baseline { get; }

    /// <summary>Everything in the calendar after the recorded steps, latest copy of each event, as a full list names it.</summary>
    public IEnumerable<string> Resync(IEnumerable<string> steps)
    {
        var latest = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in Baseline.Concat(steps.SelectMany(Recorded.Items)))
        {
            latest[JsonDocument.Parse(item).RootElement.GetProperty("id").GetString()!] = item;
        }

        return latest.Where(e => !GoneAfterwards.Contains(e.Key)).Select(e => e.Value);
    }

    /// <summary>The feed, change by change: type, event, series, split origin, diff paths.</summary>
    public string[] ExpectedFeed =>
    [
        // A new series.
        $"event.created {Dishes}",

        // Three instances edited: updates of the series' occurrences.
        $"event.updated {EditedDishes}_20250326T123000Z of {EditedDishes} [summary]",
        $"event.updated {EditedDishes}_20250327T123000Z of {EditedDishes} [summary]",
        $"event.updated {EditedDishes}_20250328T123000Z of {EditedDishes} [summary]",

        // "Edit all" after a split: the old series truncated, an instance, the _R series linked to its origin.
        $"event.updated {Dishes} [summary,recurrence,description]",
        $"event.updated {Dishes}_20250324T123000Z of {Dishes} [summary,description]",
        $"event.created {Dishes}_R20250326T123000 split from {Dishes}",

        // "This and following" into a new id: truncated, the instance past the new end deleted, the new series linked.
        $"event.updated {Breakfast} [recurrence]",
        $"event.deleted {Breakfast}_20250403T130000Z of {Breakfast}",
        $"event.created {BreakfastSplit} split from {Breakfast}",

        // One instance cancelled; the master re-sent with only etag and updated changed is no change.
        $"event.deleted {Breakfast}_20250325T130000Z of {Breakfast}",

        // "Delete this and following": the known instances past the new end, once each (one had an id-only tombstone).
        $"event.updated {Meeting} [recurrence]",
        $"event.deleted {Meeting}_20250327T150000Z of {Meeting}",
        $"event.deleted {Meeting}_20250328T150000Z of {Meeting}",

        // A split of a series with earlier exceptions (re-sent unchanged): truncated, the _R series linked.
        $"event.updated {Journal} [recurrence]",
        $"event.created {Journal}_R20250326T131500 split from {Journal}",

        // The whole series deleted with one id-only tombstone: the master and the instance Calhook knew.
        $"event.deleted {Deleted}",
        $"event.deleted {Deleted}_20250326T123000Z of {Deleted}",

        // Minimal fields: a tombstone of an event never seen is nothing, an event without status is created.
        "event.created some-event-id-3",

        // An empty page is nothing; then 400 on the sync token: a full list diffed against the snapshots.
        "event.deleted some-event-id-3",
    ];
}
