using System.Text.Json.Nodes;

namespace Calhook.Bench;

/// <summary>One webhook the fault suite's subscriber accepted (signature verified, answered 2xx).</summary>
internal sealed record WebhookReceipt(string Id, string CalendarId, long Sequence);

/// <summary>
/// The comparison. For each event of the emulator's history, the change log's last change must show its final state
/// (its last etag, or its deletion; an event created and deleted between two syncs may have no change at all); every
/// change must show a state the event really had (spurious otherwise: an unknown event, an etag it never had, a
/// deletion that never happened, an update that changed nothing); no state may be reported twice in a row
/// (duplicated); and every change in the log must have reached the subscriber with a verified signature (lost
/// otherwise), each webhook-id being one change (a webhook-id received again is a retry, counted apart).
/// </summary>
internal sealed record FaultVerdict(int Changes, int Lost, int Duplicated, int Spurious, int Redelivered, int OutOfOrder, IReadOnlyList<string> Findings)
{
    public static FaultVerdict Judge(
        Dictionary<(string Calendar, string Event), List<(string Kind, string? Etag)>> truth, List<JsonObject> log, IReadOnlyList<WebhookReceipt> received)
    {
        var findings = new List<string>();
        int lost = 0, duplicated = 0, spurious = 0;
        var byEvent = log.GroupBy(c => (Calendar: (string)c["calendarId"]!, Event: (string)c["eventId"]!)).ToDictionary(g => g.Key, g => g.OrderBy(c => (long)c["sequence"]!).ToList());
        foreach (var (key, versions) in truth)
        {
            var last = versions[^1];
            var changes = byEvent.GetValueOrDefault(key) ?? [];
            var reported = changes.Count == 0 ? null : changes[^1];
            var ok = last.Kind == "deleted"
                ? reported is null || (string)reported["type"]! == "event.deleted"
                : reported is not null && (string)reported["type"]! != "event.deleted" && Etag(reported, "event") == last.Etag;
            if (!ok)
            {
                lost++;
                findings.Add($"lost: {key.Calendar}/{key.Event} ends {last.Kind} {last.Etag}, the log ends {reported?["type"]} {(reported is null ? "" : Etag(reported, "event"))}");
            }
        }

        foreach (var (key, changes) in byEvent)
        {
            var versions = truth.GetValueOrDefault(key) ?? [];
            string? previousType = null, previousEtag = null;
            foreach (var change in changes)
            {
                var type = (string)change["type"]!;
                var etag = type == "event.deleted" ? null : Etag(change, "event");
                var real = type == "event.deleted"
                    ? versions.Any(v => v.Kind == "deleted")
                    : versions.Any(v => v.Kind != "deleted" && v.Etag == etag) && (type != "event.updated" || Etag(change, "previous") != etag);
                if (!real)
                {
                    spurious++;
                    findings.Add($"spurious: #{change["sequence"]} {type} {key.Calendar}/{key.Event} {etag}");
                }
                else if (previousType is not null && (type == previousType && (type == "event.deleted" || etag == previousEtag) || type == "event.created" && previousType != "event.deleted"))
                {
                    duplicated++;
                    findings.Add($"duplicated: #{change["sequence"]} {type} {key.Calendar}/{key.Event} {etag} repeats the change before it");
                }

                previousType = type;
                previousEtag = etag;
            }
        }

        // Webhooks: every change of the log received (verified, answered 2xx), nothing else, in log order per calendar.
        var ids = log.Select(c => (string)c["id"]!).ToHashSet(StringComparer.Ordinal);
        var accepted = received.GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var change in log.Where(c => !accepted.ContainsKey((string)c["id"]!)))
        {
            lost++;
            findings.Add($"not delivered: #{change["sequence"]} {change["id"]}");
        }

        foreach (var id in accepted.Keys.Where(id => !ids.Contains(id)))
        {
            spurious++;
            findings.Add($"delivered but not in the log: {id}");
        }

        var outOfOrder = 0;
        foreach (var calendar in received.GroupBy(r => r.CalendarId))
        {
            long highest = 0;
            foreach (var first in calendar.DistinctBy(r => r.Id))
            {
                if (first.Sequence < highest)
                {
                    outOfOrder++;
                }

                highest = Math.Max(highest, first.Sequence);
            }
        }

        return new FaultVerdict(log.Count, lost, duplicated, spurious, accepted.Values.Count(list => list.Count > 1), outOfOrder, findings);
    }

    public override string ToString() =>
        $"{Changes} changes: lost {Lost}, duplicated {Duplicated}, spurious {Spurious}, redelivered {Redelivered}, out of order {OutOfOrder}";

    private static string? Etag(JsonObject change, string side) => (string?)change[side]?["etag"];
}
