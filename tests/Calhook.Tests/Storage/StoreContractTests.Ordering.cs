using Calhook.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

// The change log as readers see it while writers commit concurrently.
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task A_reader_polling_during_concurrent_commits_never_skips_a_change()
    {
        var watches = new List<WatchRecord>();
        for (var i = 0; i < 6; i++)
        {
            watches.Add(await AddWatchAsync($"writer{i}@example.com"));
        }

        const int rounds = 10;
        var writers = watches.Select(w => Task.Run(async () =>
        {
            for (var round = 0; round < rounds; round++)
            {
                await Store.CommitSyncAsync(Some.Commit(w, $"{w.Id}-{round}", Some.Created($"{w.Id}-{round}-a"), Some.Created($"{w.Id}-{round}-b"))
                    with { ExpectedSyncToken = round == 0 ? null : $"{w.Id}-{round - 1}" }, Ct);
            }
        })).ToList();
        var total = watches.Count * rounds * 2;

        // The reader moves its cursor as a feed client does: after the last sequence it read. A change committed later
        // with a lower sequence than one already read would be skipped; the cursor must therefore always meet n + 1.
        var cursor = 0L;
        var reads = 0;
        var done = Task.WhenAll(writers);
        while (cursor < total)
        {
            // Whether the writers had all committed is taken before the read: an empty read after that is the end.
            var finished = done.IsCompleted;
            var batch = await Store.ReadChangesAsync(new ChangeQuery(cursor, 7), Ct);
            reads++;
            foreach (var change in batch)
            {
                Assert.Equal(cursor + 1, change.Sequence);
                cursor = change.Sequence;
            }

            if (batch.Count == 0 && finished)
            {
                break;
            }
        }

        await done;
        Assert.Equal(total, cursor);
        Assert.True(reads > 1, "the reader read while the writers wrote");
    }
}
