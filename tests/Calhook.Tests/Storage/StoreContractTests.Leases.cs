using Calhook.Storage;
using Calhook.TestKit;

namespace Calhook.Tests.Storage;

// Leases: the coordination section of the store seam.
public abstract partial class StoreContractTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_lease_has_one_holder_until_it_is_released()
    {
        Assert.True(await Store.TryAcquireLeaseAsync("sync:w1", "a", Some.Time, Ttl, Ct));
        Assert.False(await Store.TryAcquireLeaseAsync("sync:w1", "b", Some.Time.AddSeconds(1), Ttl, Ct));
        Assert.True(await Store.TryAcquireLeaseAsync("sync:w2", "b", Some.Time, Ttl, Ct));

        Assert.True(await Store.ReleaseLeaseAsync("sync:w1", "a", Ct));
        Assert.True(await Store.TryAcquireLeaseAsync("sync:w1", "b", Some.Time.AddSeconds(2), Ttl, Ct));
    }

    [Fact]
    public async Task Its_holder_extends_it_and_an_expired_one_goes_to_whoever_asks()
    {
        Assert.True(await Store.TryAcquireLeaseAsync("channels", "a", Some.Time, Ttl, Ct));
        Assert.True(await Store.TryAcquireLeaseAsync("channels", "a", Some.Time.AddSeconds(8), Ttl, Ct));

        // Extended to 18 s: still held at 15 s, expired after 18 s.
        Assert.False(await Store.TryAcquireLeaseAsync("channels", "b", Some.Time.AddSeconds(15), Ttl, Ct));
        Assert.True(await Store.TryAcquireLeaseAsync("channels", "b", Some.Time.AddSeconds(19), Ttl, Ct));
        Assert.False(await Store.TryAcquireLeaseAsync("channels", "a", Some.Time.AddSeconds(20), Ttl, Ct));
        Assert.False(await Store.ReleaseLeaseAsync("channels", "a", Ct));
    }

    [Fact]
    public async Task Releasing_says_whether_another_holder_asked_meanwhile()
    {
        Assert.True(await Store.TryAcquireLeaseAsync("sync:w1", "a", Some.Time, Ttl, Ct));
        Assert.False(await Store.ReleaseLeaseAsync("sync:w1", "a", Ct));

        Assert.True(await Store.TryAcquireLeaseAsync("sync:w1", "a", Some.Time, Ttl, Ct));
        Assert.False(await Store.TryAcquireLeaseAsync("sync:w1", "b", Some.Time, Ttl, Ct));
        Assert.True(await Store.TryAcquireLeaseAsync("sync:w1", "a", Some.Time.AddSeconds(1), Ttl, Ct));
        Assert.True(await Store.ReleaseLeaseAsync("sync:w1", "a", Ct));

        // A new holder does not inherit the request its predecessor had.
        Assert.True(await Store.TryAcquireLeaseAsync("sync:w1", "a", Some.Time, Ttl, Ct));
        Assert.False(await Store.TryAcquireLeaseAsync("sync:w1", "b", Some.Time, Ttl, Ct));
        Assert.True(await Store.TryAcquireLeaseAsync("sync:w1", "b", Some.Time.AddSeconds(11), Ttl, Ct));
        Assert.False(await Store.ReleaseLeaseAsync("sync:w1", "b", Ct));
    }

    [Fact]
    public async Task Taking_a_lease_can_release_another_in_the_same_call_only_when_taken()
    {
        Assert.True(await Store.TryAcquireLeaseAsync("ping:w1", "pending", Some.Time, Ttl, Ct));
        Assert.True(await Store.TryAcquireLeaseAsync("sync:w1", "b", Some.Time, Ttl, Ct));

        // Not taken (b holds it): the pending ping stays.
        Assert.False(await Store.TryAcquireLeaseReleasingAsync("sync:w1", "a", Some.Time, Ttl, "ping:w1", "pending", Ct));
        Assert.Equal(["ping:w1", "sync:w1"], await Store.ListExpiredLeasesAsync("", Some.Time.AddMinutes(1), Ct));

        // Taken: the pending ping is gone, and a's request on the way counted for b's release.
        Assert.True(await Store.ReleaseLeaseAsync("sync:w1", "b", Ct));
        Assert.True(await Store.TryAcquireLeaseReleasingAsync("sync:w1", "a", Some.Time, Ttl, "ping:w1", "pending", Ct));
        Assert.Equal(["sync:w1"], await Store.ListExpiredLeasesAsync("", Some.Time.AddMinutes(1), Ct));

        // A lease of another holder under the released name is left alone.
        Assert.True(await Store.TryAcquireLeaseAsync("ping:w2", "c", Some.Time, Ttl, Ct));
        Assert.True(await Store.TryAcquireLeaseReleasingAsync("sync:w2", "a", Some.Time, Ttl, "ping:w2", "pending", Ct));
        Assert.Equal(["ping:w2", "sync:w1", "sync:w2"], await Store.ListExpiredLeasesAsync("", Some.Time.AddMinutes(1), Ct));
    }

    [Fact]
    public async Task Many_leases_of_one_holder_are_taken_or_extended_in_one_call()
    {
        Assert.True(await Store.TryAcquireLeaseAsync("ping:w2", "pending", Some.Time, Ttl, Ct));
        Assert.True(await Store.TryAcquireLeaseAsync("ping:w3", "other", Some.Time, Ttl, Ct));

        // w1 new, w2 extended to 15 s, w3 held by another (asked for, not taken); a name given twice counts once.
        Assert.Equal(2, await Store.TryAcquireLeasesAsync(["ping:w1", "ping:w2", "ping:w3", "ping:w1"], "pending", Some.Time.AddSeconds(5), Ttl, Ct));
        Assert.Equal(["ping:w3"], await Store.ListExpiredLeasesAsync("ping:", Some.Time.AddSeconds(14), Ct));
        Assert.Equal(["ping:w1", "ping:w2", "ping:w3"], await Store.ListExpiredLeasesAsync("ping:", Some.Time.AddSeconds(16), Ct));
        Assert.True(await Store.ReleaseLeaseAsync("ping:w3", "other", Ct));
        Assert.Equal(0, await Store.TryAcquireLeasesAsync([], "pending", Some.Time, Ttl, Ct));
    }

    [Fact]
    public async Task Expired_leases_are_listed_by_prefix_until_someone_takes_them()
    {
        await Store.TryAcquireLeaseAsync("sync:w1", "a", Some.Time, Ttl, Ct);
        await Store.TryAcquireLeaseAsync("sync:w2", "a", Some.Time.AddSeconds(5), Ttl, Ct);
        await Store.TryAcquireLeaseAsync("channels", "a", Some.Time, Ttl, Ct);
        await Store.TryAcquireLeaseAsync("sync:w3", "a", Some.Time, Ttl, Ct);
        await Store.ReleaseLeaseAsync("sync:w3", "a", Ct);

        Assert.Empty(await Store.ListExpiredLeasesAsync("sync:", Some.Time.AddSeconds(9), Ct));
        Assert.Equal(["sync:w1"], await Store.ListExpiredLeasesAsync("sync:", Some.Time.AddSeconds(11), Ct));
        Assert.Equal(["sync:w1", "sync:w2"], await Store.ListExpiredLeasesAsync("sync:", Some.Time.AddSeconds(16), Ct));

        await Store.TryAcquireLeaseAsync("sync:w1", "b", Some.Time.AddSeconds(16), Ttl, Ct);
        Assert.Equal(["sync:w2"], await Store.ListExpiredLeasesAsync("sync:", Some.Time.AddSeconds(16), Ct));
    }

    [Fact]
    public async Task Racing_takers_of_a_free_lease_get_one_winner()
    {
        for (var round = 0; round < 5; round++)
        {
            var name = $"sync:race{round}";
            var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
                Task.Run(() => Store.TryAcquireLeaseAsync(name, $"holder{i}", Some.Time, Ttl, Ct))));
            Assert.Single(results, won => won);
        }
    }
}
