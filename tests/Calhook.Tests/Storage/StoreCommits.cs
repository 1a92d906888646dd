using Calhook.Changes;
using Calhook.Storage;

namespace Calhook.Tests.Storage;

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
