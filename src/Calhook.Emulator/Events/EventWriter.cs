using System.Text.Json.Nodes;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace Calhook.Emulator.Events;

/// <summary>A mutation's outcome: the stored version, or Google's error.</summary>
internal readonly record struct WriteOutcome(StoredEvent? Event, GoogleError? Error)
{
    public static implicit operator WriteOutcome(GoogleError error) => new(null, error);

    /// <summary>The stored event as Google answers it, or the error.</summary>
    public IResult ToResult() => Event is { } stored ? JsonResults.Raw(stored.Utf8) : Error!.ToResult();
}

/// <summary>
/// Every event mutation: validates the body, stamps the server fields (etag, updated, …), commits under the
/// calendar's lock and then tells the channels (after the lock, so a slow receiver never delays the caller).
/// </summary>
internal sealed class EventWriter(EmulatorRuntime runtime, ChangeSignal signal)
{
    private static readonly string[] ServerFields = ["kind", "etag", "id", "htmlLink", "created", "updated"];

    public WriteOutcome Insert(CalendarState calendar, JsonObject body, bool import)
    {
        var outcome = InsertLocked(calendar, body, import);
        if (outcome.Event is not null)
        {
            signal.Raise(calendar.Id);
        }

        return outcome;
    }

    public WriteOutcome Replace(CalendarState calendar, string eventId, JsonObject body, string? ifMatch, bool patch)
    {
        WriteOutcome outcome;
        lock (calendar.Gate)
        {
            var (existing, current, refused) = Locate(calendar, eventId, ifMatch, deletedIsGone: false);
            if (current is null)
            {
                return refused!;
            }

            var merged = patch ? Merge((JsonObject)current.DeepClone(), body) : (JsonObject)body.DeepClone();
            // Identity fields of an instance and the creation facts never change through update or patch.
            foreach (var keep in new[] { "recurringEventId", "originalStartTime", "iCalUID", "created" })
            {
                if (current[keep] is { } value)
                {
                    merged[keep] = value.DeepClone();
                }
            }

            foreach (var keep in new[] { "creator", "organizer", "sequence", "eventType" })
            {
                if (merged[keep] is null && current[keep] is { } value)
                {
                    merged[keep] = value.DeepClone();
                }
            }

            if (Validate(merged, requireTimes: true) is { } error)
            {
                return error;
            }

            BumpSequenceOnReschedule(current, merged);
            var status = merged["status"]?.GetValue<string>();
            // Without a stored event this is the first edit of an occurrence of a series: the instance existed
            // already (virtually), so the history records an update of it, as Calhook reports it.
            var kind = status == "cancelled" ? MutationKind.Deleted : MutationKind.Updated;
            outcome = new WriteOutcome(Commit(calendar, merged, eventId, existing, kind), null);
        }

        signal.Raise(calendar.Id);
        return outcome;
    }

    public GoogleError? Delete(CalendarState calendar, string eventId, string? ifMatch)
    {
        lock (calendar.Gate)
        {
            var (existing, current, refused) = Locate(calendar, eventId, ifMatch, deletedIsGone: true);
            if (current is null)
            {
                return refused;
            }

            CommitCancelled(calendar, current, eventId, existing);
            if (existing is { IsRecurring: true })
            {
                // Deleting a series deletes its exceptions too; each is its own committed mutation (the ground truth).
                // Whether lists show them is the lister's choice: Google's recordings show only the master's tombstone.
                foreach (var exception in calendar.ExceptionsOf(eventId).Values.Where(e => !e.IsCancelled).ToList())
                {
                    CommitCancelled(calendar, exception.Node, exception.Id, exception);
                }
            }
        }

        signal.Raise(calendar.Id);
        return null;
    }

    /// <summary>
    /// Changes a stored event (or a not yet edited instance) the way Google does on its own, without the API: another
    /// attendee answering, Meet data filled in. <paramref name="change"/> edits a copy and may refuse with an error.
    /// The sequence stays: neither is a reschedule.
    /// </summary>
    public WriteOutcome Touch(CalendarState calendar, string eventId, Func<JsonObject, GoogleError?> change)
    {
        WriteOutcome outcome;
        lock (calendar.Gate)
        {
            var (existing, current, refused) = Locate(calendar, eventId, ifMatch: null, deletedIsGone: true);
            if (current is null)
            {
                return refused!;
            }

            var copy = (JsonObject)current.DeepClone();
            if (change(copy) is { } error)
            {
                return error;
            }

            outcome = new WriteOutcome(Commit(calendar, copy, eventId, existing, MutationKind.Updated), null);
        }

        signal.Raise(calendar.Id);
        return outcome;
    }

    /// <summary>Commits one mutation of a multi-event operation (a split); the caller holds the lock and raises the signal.</summary>
    internal StoredEvent CommitLocked(CalendarState calendar, JsonObject body, string id, StoredEvent? previous, MutationKind kind) =>
        Commit(calendar, body, id, previous, kind, keepCreated: true);

    /// <summary>Google's checks on an event body, for a multi-event operation; null when it may be stored.</summary>
    internal GoogleError? Check(JsonObject body) => Validate(body, requireTimes: true);

    internal void Raise(CalendarState calendar) => signal.Raise(calendar.Id);

    /// <summary>
    /// Google raises <c>sequence</c> when an update moves the start or the end or changes the recurrence (a client
    /// that sends a higher one keeps it). Other edits keep it.
    /// </summary>
    private static void BumpSequenceOnReschedule(JsonObject current, JsonObject merged)
    {
        if (JsonNode.DeepEquals(current["start"], merged["start"]) && JsonNode.DeepEquals(current["end"], merged["end"])
            && JsonNode.DeepEquals(current["recurrence"], merged["recurrence"]))
        {
            return;
        }

        var before = current["sequence"] is JsonValue b && b.TryGetValue(out int was) ? was : 0;
        var given = merged["sequence"] is JsonValue g && g.TryGetValue(out int asked) ? asked : 0;
        merged["sequence"] = Math.Max(before + 1, given);
    }

    /// <summary>The JSON of an unmodified instance of a stored series, or null when the id names none.</summary>
    public JsonObject? VirtualInstance(CalendarState calendar, string eventId)
    {
        if (EventIds.MasterOf(eventId) is not { } masterId || calendar.Find(masterId) is not { IsCancelled: false } master)
        {
            return null;
        }

        var occurrence = master.Occurrences(runtime.Options.MaxInstancesPerSeries).FirstOrDefault(o => o.InstanceId == eventId);
        return occurrence is null ? null : InstanceJson.Build(master, occurrence);
    }

    private WriteOutcome InsertLocked(CalendarState calendar, JsonObject body, bool import)
    {
        lock (calendar.Gate)
        {
            var cancelled = body["status"] is JsonValue s && s.TryGetValue(out string? status) && status == "cancelled";
            if (Validate(body, requireTimes: !(import && cancelled)) is { } error)
            {
                return error;
            }

            string id;
            if (body["id"] is JsonValue idValue && idValue.TryGetValue(out string? given))
            {
                if (!(import ? EventIds.IsValidImportedId(given) : EventIds.IsValidClientId(given)))
                {
                    return GoogleError.Invalid("Invalid resource id value.");
                }

                if (calendar.Find(given) is not null)
                {
                    return GoogleError.Duplicate();
                }

                id = given;
            }
            else
            {
                id = EventIds.New();
            }

            if (!import && body["recurringEventId"] is JsonValue master && calendar.Find(master.ToString()) is null)
            {
                return GoogleError.Invalid("Invalid recurringEventId value.");
            }

            var kind = cancelled ? MutationKind.Deleted : MutationKind.Created;
            // Commit copies what it keeps, so the caller's body is not cloned here.
            return new WriteOutcome(Commit(calendar, body, id, null, kind, keepTimes: import), null);
        }
    }

    private StoredEvent Commit(CalendarState calendar, JsonObject body, string id, StoredEvent? previous, MutationKind kind,
        bool keepCreated = false, bool keepTimes = false)
    {
        var now = runtime.Clock.GetUtcNow();
        // `updated` moves forward on every mutation even when the clock stands still (a fake clock in tests).
        var updated = previous is not null && now <= previous.Updated ? previous.Updated.AddMilliseconds(1) : now;
        var etag = $"\"{(updated.ToUnixTimeMilliseconds() * 1000) + ((calendar.LastSeq + 1) % 1000)}\"";
        var node = new JsonObject
        {
            ["kind"] = "calendar#event",
            ["etag"] = etag,
            ["id"] = id,
            ["status"] = body["status"]?.DeepClone() ?? "confirmed",
            ["htmlLink"] = $"https://www.google.com/calendar/event?eid={Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(id + " " + calendar.Id)).TrimEnd('=')}",
            // An instance keeps its series' creation time, as Google's recorded exceptions show.
            ["created"] = previous?.Node["created"]?.DeepClone()
                ?? (body["recurringEventId"] is not null || keepCreated ? body["created"]?.DeepClone() : null)
                ?? EventTime.FormatUtc(updated),
            ["updated"] = EventTime.FormatUtc(updated),
        };
        foreach (var (name, value) in body)
        {
            if (Array.IndexOf(ServerFields, name) < 0 && name != "status" && value is not null)
            {
                node[name] = value.DeepClone();
            }
        }

        // An imported copy keeps its times as given (recorded copies hold local times with a zone).
        foreach (var name in keepTimes ? [] : new[] { "start", "end", "originalStartTime" })
        {
            WithOffset(node[name] as JsonObject);
        }

        node["iCalUID"] ??= $"{id}@google.com";
        node["sequence"] ??= 0;
        node["creator"] ??= new JsonObject { ["email"] = calendar.Owner, ["self"] = true };
        node["organizer"] ??= new JsonObject { ["email"] = calendar.Id, ["self"] = true };
        node["reminders"] ??= new JsonObject { ["useDefault"] = true };
        node["eventType"] ??= "default";
        return calendar.Commit(node, kind, updated);
    }

    /// <summary>
    /// Google answers every <c>dateTime</c> with its UTC offset (recorded: <c>"2025-03-24T07:30:00-05:00"</c> with
    /// <c>"timeZone": "America/Chicago"</c>), also when the client sent a local time and a zone.
    /// </summary>
    private static void WithOffset(JsonObject? time)
    {
        if (time?["dateTime"] is not JsonValue value || !value.TryGetValue(out string? text) || text.Length != 19
            || time["timeZone"] is not JsonValue zoneValue || !zoneValue.TryGetValue(out string? zoneId)
            || EventTime.FindZone(zoneId) is not { } zone || !EventTime.TryParseInstant(text, zoneId, out var instant))
        {
            return;
        }

        time["dateTime"] = EventTime.Format(instant, zone);
    }

    /// <summary>
    /// The event a mutation applies to, under the lock: the stored one, or a not yet edited instance of a series
    /// (<paramref name="existing"/> null). Refused as Google does, in this order: 410 <c>deleted</c> for a cancelled
    /// one when <paramref name="deletedIsGone"/>, 404 for an unknown id, 412 when <paramref name="ifMatch"/> names
    /// another etag.
    /// </summary>
    private (StoredEvent? Existing, JsonObject? Current, GoogleError? Refused) Locate(CalendarState calendar, string eventId, string? ifMatch,
        bool deletedIsGone)
    {
        var existing = calendar.Find(eventId);
        if (deletedIsGone && existing is { IsCancelled: true })
        {
            return (existing, null, GoogleError.Deleted());
        }

        var current = existing?.Node ?? VirtualInstance(calendar, eventId);
        if (current is null)
        {
            return (null, null, GoogleError.NotFound());
        }

        var matches = ifMatch is null or "*" || ifMatch == (existing?.Etag ?? (string?)current["etag"]);
        return matches ? (existing, current, null) : (existing, null, GoogleError.ConditionNotMet());
    }

    private void CommitCancelled(CalendarState calendar, JsonObject current, string id, StoredEvent? existing)
    {
        var cancelled = (JsonObject)current.DeepClone();
        cancelled["status"] = "cancelled";
        Commit(calendar, cancelled, id, existing, MutationKind.Deleted);
    }

    private static JsonObject Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch)
        {
            if (value is JsonObject child && target[name] is JsonObject existing)
            {
                Merge(existing, child);
            }
            else
            {
                target[name] = value?.DeepClone();
            }
        }

        return target;
    }

    /// <summary>Google's checks on an event body; null when it may be stored.</summary>
    private GoogleError? Validate(JsonObject body, bool requireTimes)
    {
        if (EventSchema.FindTypeError(body) is { } path)
        {
            return GoogleError.Invalid($"Invalid value for: {path}");
        }

        if (body["status"] is JsonValue s && s.GetValue<string>() is not ("confirmed" or "tentative" or "cancelled"))
        {
            return GoogleError.Invalid("Invalid value for: status");
        }

        if (!requireTimes)
        {
            return null;
        }

        if (body["start"] is null)
        {
            return GoogleError.Required("Missing start time.");
        }

        if (!EventTime.TryParse(body["start"], out var start))
        {
            return GoogleError.Invalid("Invalid start time.");
        }

        if (body["end"] is null)
        {
            // Google still needs an end unless the event says its end is unspecified.
            return body["endTimeUnspecified"] is JsonValue u && u.GetValueKind() == System.Text.Json.JsonValueKind.True
                ? null
                : GoogleError.Required("Missing end time.");
        }

        if (!EventTime.TryParse(body["end"], out var end))
        {
            return GoogleError.Invalid("Invalid end time.");
        }

        if (start.IsAllDay != end.IsAllDay)
        {
            return GoogleError.Invalid("Invalid end time.");
        }

        if (end.Instant < start.Instant)
        {
            return GoogleError.TimeRangeEmpty("end");
        }

        if (body["recurrence"] is JsonArray { Count: > 0 } lines && body["recurringEventId"] is null)
        {
            if (!start.IsAllDay && start.TimeZone is null)
            {
                return GoogleError.Required("Missing time zone definition for start time.");
            }

            var rules = lines.Select(l => l?.GetValue<string>() ?? "");
            if (Recurrence.RecurrenceExpander.Expand("x", start, end, rules, 1, out var error) is null)
            {
                return GoogleError.Invalid(error ?? "Invalid recurrence rule.");
            }
        }

        return null;
    }
}
