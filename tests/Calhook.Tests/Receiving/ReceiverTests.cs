using System.Net;
using System.Text.Json.Nodes;
using Calhook.Channels;
using Calhook.Emulator;
using Calhook.Receiving;
using Calhook.Storage;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Receiving;

/// <summary>The push receiver over loopback: forged and malformed pings are refused and trigger nothing.</summary>
public sealed class ReceiverTests : IAsyncLifetime
{
    private const string Alice = "alice@example.com";
    private EmulatorWorld _world = null!;
    private ReceiverCounts _pings = null!;
    private HttpClient _google = null!;
    private string _watchId = null!;
    private EmulatorChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _world = await EmulatorWorld.StartAsync(o => o.WithQuickRecovery());
        _pings = new ReceiverCounts(_world.Calhook);
        (_google, _) = await _world.SignInAsync(Alice);
        _watchId = await _world.WatchOwnCalendarAsync(Alice);
        await _world.WaitForStatusAsync(_watchId, "active");
        _channel = Assert.Single(await _world.Control.GetChannelsAsync(Alice));
        // The emulator's `sync` ping for the new channel.
        await Polling.EventuallyAsync(() => Task.FromResult(_pings.Accepted >= 1), TimeSpan.FromSeconds(15), "the receiver accepts a ping");
    }

    public async Task DisposeAsync()
    {
        _google?.Dispose();
        _pings?.Dispose();
        if (_world is not null)
        {
            await _world.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_ping_with_the_right_channel_token_and_resource_is_acknowledged_and_recorded()
    {
        var before = _pings.AcceptedExists;
        var response = await PingAsync(Id, Token, ResourceId, "exists", "7");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before + 1, _pings.AcceptedExists);
        await Polling.EventuallyAsync(async () => (await _world.WatchStateAsync(_watchId))["lastNotificationAt"] is not null, TimeSpan.FromSeconds(15), "the watch records the notification");
    }

    [Fact]
    public async Task A_wrong_token_for_a_known_channel_is_refused_with_401_and_triggers_nothing()
    {
        var accepted = _pings.Accepted;
        var response = await PingAsync(Id, Token[..^2] + "xx", ResourceId, "exists", "9");
        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);

        var missingToken = await PingAsync(Id, null, ResourceId, "exists", "9");
        await AssertProblemAsync(missingToken, HttpStatusCode.Unauthorized);

        var wrongResource = await PingAsync(Id, Token, "another-resource", "exists", "9");
        await AssertProblemAsync(wrongResource, HttpStatusCode.Unauthorized);
        Assert.Equal(accepted, _pings.Accepted);
        Assert.Equal(3, _pings.Refused);
    }

    [Theory]
    [InlineData(null, "exists", "5")]
    [InlineData("ch", null, "5")]
    [InlineData("ch", "changed", "5")]
    [InlineData("ch", "exists", null)]
    [InlineData("ch", "exists", "five")]
    public async Task Missing_or_malformed_headers_are_refused_with_400(string? channel, string? state, string? number)
    {
        var accepted = _pings.Accepted;
        var response = await PingAsync(channel is null ? null : Id, Token, ResourceId, state, number);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(accepted, _pings.Accepted);
    }

    [Fact]
    public async Task A_body_larger_than_the_limit_is_refused()
    {
        using var request = Request(Id, Token, ResourceId, "exists", "3");
        request.Content = new StringContent(new string('x', 10_000));
        var response = await _world.Api.SendAsync(request);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task A_chunked_body_without_content_length_larger_than_the_limit_is_refused_with_413()
    {
        var accepted = _pings.Accepted;
        using var request = Request(Id, Token, ResourceId, "exists", "4");
        // No Content-Length: HttpClient sends a stream of unknown length chunked. Four times the limit, and small enough
        // to be sent whole before the service answers and closes the connection (a larger one fails the client's send).
        request.Content = new StreamContent(new MemoryStream(new byte[16 * 1024]));
        request.Headers.TransferEncodingChunked = true;

        var response = await _world.Api.SendAsync(request);

        Assert.Null(request.Content.Headers.ContentLength);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(accepted, _pings.Accepted);
    }

    [Fact]
    public async Task A_small_chunked_body_is_still_a_ping()
    {
        var before = _pings.AcceptedExists;
        using var request = Request(Id, Token, ResourceId, "exists", "5");
        request.Content = new StreamContent(new MemoryStream(new byte[16]));
        request.Headers.TransferEncodingChunked = true;

        var response = await _world.Api.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before + 1, _pings.AcceptedExists);
    }

    [Fact]
    public async Task Duplicate_and_out_of_order_message_numbers_are_harmless()
    {
        var before = _pings.AcceptedExists;
        foreach (var number in new[] { "20", "20", "12", "30" })
        {
            Assert.Equal(HttpStatusCode.OK, (await PingAsync(Id, Token, ResourceId, "exists", number)).StatusCode);
        }

        Assert.Equal(before + 4, _pings.AcceptedExists);
        Assert.Equal("active", (await _world.WatchStateAsync(_watchId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_channel_is_answered_200_and_stopped_in_the_background()
    {
        // An orphan: a channel on the same calendar that Calhook has no record of (e.g. from a lost database).
        await EmulatorWorld.OpenChannelAsync(_google, Alice, "orphan-channel", "orphan-token", new Uri(_world.Calhook.BaseAddress, ReceiverEndpoint.Path));

        await Polling.EventuallyAsync(async () => (await _world.Control.GetChannelsAsync(Alice)).All(c => c.Id != "orphan-channel"), TimeSpan.FromSeconds(15), () => "the orphan channel was never stopped");
        Assert.True(_pings.Unknown >= 1);
        Assert.Equal(Id, Assert.Single(await _world.Control.GetChannelsAsync(Alice)).Id);
    }

    [Fact]
    public async Task A_channel_just_recorded_by_another_instance_is_not_stopped_although_this_map_does_not_know_it()
    {
        // Another instance records its channel before asking Google to open it; the channel's first ping reaches this
        // instance, whose map does not know it. The stopper reads the store first and leaves it alone.
        var store = _world.Calhook.Services.GetRequiredService<ICalhookStore>();
        await store.AddChannelAsync(new ChannelRecord("fresh-channel", _watchId, "protected-elsewhere", null, null, TimeProvider.System.GetUtcNow(), null), CancellationToken.None);
        var address = new Uri(_world.Calhook.BaseAddress, "google/notifications");
        var unknown = _pings.Unknown;
        await EmulatorWorld.OpenChannelAsync(_google, Alice, "fresh-channel", "fresh-token", address);
        await Polling.EventuallyAsync(() => Task.FromResult(_pings.Unknown > unknown), TimeSpan.FromSeconds(15), "the fresh channel's ping comes");

        // An orphan's ping after it goes through the same stopper queue: once the orphan is stopped, the fresh one was judged.
        await EmulatorWorld.OpenChannelAsync(_google, Alice, "orphan-after", "orphan-token", address);
        await Polling.EventuallyAsync(async () => (await _world.Control.GetChannelsAsync(Alice)).All(c => c.Id != "orphan-after"),
            TimeSpan.FromSeconds(15), "the orphan channel is stopped");

        Assert.Contains(await _world.Control.GetChannelsAsync(Alice), c => c.Id == "fresh-channel");
    }

    [Fact]
    public async Task A_sync_ping_that_arrives_before_the_watch_call_returned_is_accepted()
    {
        // Recorded before the watch call, so Google's resource id is not known yet: the token decides.
        _world.Calhook.Services.GetRequiredService<ChannelMap>().Add(KnownChannel.Create("opening", _watchId, "acc", "early-token"));
        var accepted = _pings.Accepted;

        var response = await PingAsync("opening", "early-token", "resource-from-google", "sync", "1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(accepted + 1, _pings.Accepted);
        await AssertProblemAsync(await PingAsync("opening", "forged", "resource-from-google", "sync", "1"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_unknown_channel_on_a_resource_nobody_here_holds_is_still_answered_200()
    {
        var accepted = _pings.Accepted;
        var response = await PingAsync("not-ours", "whatever", "unknown-resource", "exists", "2");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(accepted, _pings.Accepted);
        Assert.Single(await _world.Control.GetChannelsAsync(Alice));
    }

    private string Id => _channel.Id;

    private string Token => _channel.Token!;

    private string ResourceId => _channel.ResourceId;

    private async Task<HttpResponseMessage> PingAsync(string? channel, string? token, string? resource, string? state, string? number)
    {
        using var request = Request(channel, token, resource, state, number);
        return await _world.Api.SendAsync(request);
    }

    private static HttpRequestMessage Request(string? channel, string? token, string? resource, string? state, string? number)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, ReceiverEndpoint.Path);
        // Google's pings carry no API key.
        request.Headers.Authorization = null;
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                request.Headers.Add(name, value);
            }
        }

        Add("X-Goog-Channel-ID", channel);
        Add("X-Goog-Channel-Token", token);
        Add("X-Goog-Resource-ID", resource);
        Add("X-Goog-Resource-State", state);
        Add("X-Goog-Message-Number", number);
        Add("X-Goog-Resource-URI", "https://www.googleapis.com/calendar/v3/calendars/alice%40example.com/events?alt=json");
        return request;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
    }
}
