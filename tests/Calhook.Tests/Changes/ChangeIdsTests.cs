using Calhook.Changes;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Changes;

public sealed class ChangeIdsTests
{
    [Fact]
    public void Ids_are_prefixed_unique_and_sort_by_time()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));
        var ids = new ChangeIds(time);
        var first = ids.Next();
        time.Advance(TimeSpan.FromMilliseconds(1));
        var second = ids.Next();

        Assert.Matches("^chg_[0-9A-HJKMNP-TV-Z]{26}$", first);
        Assert.True(string.CompareOrdinal(first, second) < 0, $"{first} should sort before {second}");
        var many = Enumerable.Range(0, 1000).Select(_ => ids.Next()).ToHashSet();
        Assert.Equal(1000, many.Count);
    }
}
