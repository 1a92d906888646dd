namespace Calhook.Storage;

/// <summary>
/// A sync commit refused because the watch's stored sync token is no longer the one the sync started from: another
/// sync of the watch committed meanwhile (another instance took over while this one stalled past its lease). Its
/// snapshots, changes and token were computed against a state that is gone, so the store wrote none of them (nor
/// kept a full list's staged rows). The caller treats the watch as synced by the other; nothing is lost, since the
/// newer sync started from the state this one saw or a later one. Invariant 5 across processes (docs/architecture.md).
/// </summary>
public sealed class SyncSupersededException(string watchId)
    : InvalidOperationException($"Watch {watchId} was synced by another sync while this one ran: its sync token is not the one this sync started from, so this commit wrote nothing.")
{
    public string WatchId { get; } = watchId;
}
