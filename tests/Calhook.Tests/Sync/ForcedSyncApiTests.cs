using System.Net;
using Calhook.Tests.Changes;

namespace Calhook.Tests.Sync;

public sealed class ForcedSyncApiTests
{
    [Fact]
    public async Task Forcing_a_sync_of_an_unknown_or_stopped_watch_is_404_and_needs_the_api_key()
    {
        await using var host = await FeedHost.StartAsync();

        var unknown = await host.Client.PostAsync("v1/watches/wat_nope/sync", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.PostAsync($"v1/watches/{FeedHost.WatchId}/sync", null)).StatusCode);

        using var anonymous = host.Host.CreateAnonymousClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"v1/watches/{FeedHost.WatchId}/sync", null)).StatusCode);
    }
}
