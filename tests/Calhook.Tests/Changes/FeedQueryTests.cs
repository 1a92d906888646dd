using Calhook.Changes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Calhook.Tests.Changes;

public sealed class FeedQueryTests
{
    private static FeedQuery Parse(string name, string value) =>
        FeedQuery.Parse(new QueryCollection(new Dictionary<string, StringValues> { [name] = value }));

    [Theory]
    [InlineData("61")]
    [InlineData("3600")]
    [InlineData("99999999999999999999999")]
    public void A_wait_above_the_maximum_is_clamped_not_refused(string wait)
    {
        var parsed = Parse("wait", wait);
        Assert.Null(parsed.Problem);
        Assert.Equal(TimeSpan.FromSeconds(ChangesApi.MaxWaitSeconds), parsed.Wait);
    }

    [Theory]
    [InlineData("1001")]
    [InlineData("99999999999999999999999")]
    public void A_limit_above_the_maximum_is_clamped_not_refused(string limit)
    {
        var parsed = Parse("limit", limit);
        Assert.Null(parsed.Problem);
        Assert.Equal(ChangesApi.MaxLimit, parsed.Query!.Limit);
    }

    [Theory]
    [InlineData("wait", "-1")]
    [InlineData("wait", "1.5")]
    [InlineData("wait", "")]
    [InlineData("limit", "0")]
    [InlineData("limit", "ten")]
    public void Values_that_are_not_whole_numbers_in_range_are_refused(string name, string value)
    {
        Assert.NotNull(Parse(name, value).Problem);
    }
}
