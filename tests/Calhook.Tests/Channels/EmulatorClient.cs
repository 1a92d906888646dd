using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.TestKit;

namespace Calhook.Tests.Channels;

/// <summary>A running emulator, its controls (<see cref="Control"/>) and a few Calendar calls, over HTTP.</summary>
internal sealed class EmulatorClient : IAsyncDisposable
{
    private readonly EmulatorServer _server;

    private EmulatorClient(EmulatorServer server)
    {
        _server = server;
        Http = new HttpClient { BaseAddress = server.BaseAddress };
    }

    public Uri BaseAddress => _server.BaseAddress;

    public HttpClient Http { get; }

    /// <summary>The emulator's controls: tokens, channels, faults, history.</summary>
    public EmulatorControlClient Control => new(Http);

    public static async Task<EmulatorClient> StartAsync(int maxChannelTtlSeconds = 604_800) =>
        new(await EmulatorServer.StartAsync(new EmulatorOptions { MaxChannelTtlSeconds = maxChannelTtlSeconds }));

    /// <summary>Creates an event in the calendar as the user (events.insert).</summary>
    public async Task CreateEventAsync(string accessToken, string calendarId, string summary)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"calendar/v3/calendars/{Uri.EscapeDataString(calendarId)}/events")
        {
            Content = JsonContent.Create(new
            {
                summary,
                start = new { dateTime = "2026-12-01T10:00:00Z" },
                end = new { dateTime = "2026-12-01T11:00:00Z" },
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        (await Http.SendAsync(request)).EnsureSuccessStatusCode();
    }

    /// <summary>Opens a channel directly with the emulator (events.watch), behind Calhook's back.</summary>
    public async Task<JsonObject> WatchDirectlyAsync(string accessToken, string calendarId, string channelId, string token, string address)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"calendar/v3/calendars/{Uri.EscapeDataString(calendarId)}/events/watch")
        {
            Content = JsonContent.Create(new { id = channelId, type = "web_hook", address, token }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _server.DisposeAsync();
    }
}
