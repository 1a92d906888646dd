using System.Text;
using System.Text.Json;
using Calhook.Changes;
using Calhook.Storage;

namespace Calhook.Tests.Changes;

/// <summary>
/// Runs <see cref="ChangeDetector"/> the way the syncer does: each page observed against the stored snapshots it
/// needs, then finished with the stored events the list did not name that the detector asks for.
/// </summary>
internal sealed class Detections
{
    private int _ids;

    /// <summary>What one sync gives: the snapshot rows written, then the detection.</summary>
    public sealed record Result(List<StagedSnapshot> Rows, Detection Detection, IReadOnlyList<string> Problems)
    {
        public IReadOnlyList<NewChange> Changes => Detection.Changes;

        public string Summary => string.Join(", ", Changes.Select(c => $"{c.Type}:{c.EventId}"));

        public string? Row(string id) => Rows.LastOrDefault(r => r.EventId == id) is { } row ? Encoding.UTF8.GetString(row.Json) : null;

        /// <summary>The snapshots after the commit: <paramref name="before"/>, then the rows, then the forgotten events removed.</summary>
        public (string Id, string Json)[] Apply(params (string Id, string Json)[] before)
        {
            var after = before.ToDictionary(s => s.Id, s => s.Json);
            foreach (var row in Rows)
            {
                after[row.EventId] = Encoding.UTF8.GetString(row.Json);
            }

            foreach (var id in Detection.Forgotten)
            {
                after.Remove(id);
            }

            return [.. after.Select(a => (a.Key, a.Value))];
        }
    }

    public Result Sync(SyncKind kind, string[][] pages, params (string Id, string Json)[] snapshots)
    {
        var stored = snapshots.ToDictionary(s => s.Id, s => Encoding.UTF8.GetBytes(s.Json));
        var detector = new ChangeDetector(kind, () => $"chg_{++_ids}");
        var rows = new List<StagedSnapshot>();
        foreach (var page in pages)
        {
            var items = page.Select(json => JsonDocument.Parse(json).RootElement.Clone()).ToList();
            var ids = ChangeRules.SnapshotIdsFor(items);
            rows.AddRange(detector.Observe(items, kind == SyncKind.Baseline ? [] : stored.Where(s => ids.Contains(s.Key)).ToDictionary()));
        }

        var unlisted = detector.NeedsUnlisted ? detector.UnlistedToLoad(stored.Keys).ToDictionary(id => id, id => stored[id]) : [];
        return new Result(rows, detector.Finish(unlisted), detector.Problems);
    }

    public Result Incremental(string[] items, params (string Id, string Json)[] snapshots) => Sync(SyncKind.Incremental, [items], snapshots);
}
