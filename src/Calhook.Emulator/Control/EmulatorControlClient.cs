using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Calhook.Emulator.Faults;
using Calhook.Emulator.Wire;

namespace Calhook.Emulator;

/// <summary>
/// A typed client of the emulator's controls under <c>/emulator/v1/</c>: what a test of a Google Calendar integration
/// needs besides the Calendar API itself (tokens for a user, the ground-truth history, faults, run-time settings,
/// the open push channels, expiring sync tokens). Talks HTTP, so it drives an emulator in this process
/// (<see cref="EmulatorServer"/>) or in another one (<c>calhook emulator</c>) alike. Every failed call throws
/// <see cref="HttpRequestException"/> with the emulator's error body in its message.
/// </summary>
/// <example>
/// <code>
/// await using var google = await EmulatorServer.StartAsync(new EmulatorOptions());
/// using var control = new EmulatorControlClient(google.BaseAddress);
/// var tokens = await control.CreateTokensAsync("alice@example.com");
/// await control.SetFaultsAsync(new FaultSettings { Notifications = new NotificationFaults { DropRate = 0.2 } });
/// </code>
/// </example>
public sealed class EmulatorControlClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>A client of the emulator at <paramref name="emulatorOrigin"/> (its <see cref="EmulatorServer.BaseAddress"/>).</summary>
    public EmulatorControlClient(Uri emulatorOrigin)
        : this(new HttpClient { BaseAddress = emulatorOrigin ?? throw new ArgumentNullException(nameof(emulatorOrigin)) }, ownsHttp: true)
    {
    }

    /// <summary>A client over <paramref name="http"/>, whose <c>BaseAddress</c> is the emulator's origin; not disposed with this.</summary>
    public EmulatorControlClient(HttpClient http)
        : this(http ?? throw new ArgumentNullException(nameof(http)), ownsHttp: false)
    {
    }

    private EmulatorControlClient(HttpClient http, bool ownsHttp)
    {
        _http = http;
        _ownsHttp = ownsHttp;
    }

    /// <summary>Creates <paramref name="user"/> (and its primary calendar) if needed and issues OAuth tokens for it.</summary>
    public async Task<EmulatorTokens> CreateTokensAsync(string user, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "emulator/v1/tokens", Json(new UserRequest(user), EmulatorJson.Wire.UserRequest), cancellationToken);
        var answer = await ReadAsync(response, EmulatorJson.Wire.TokenAnswer, cancellationToken);
        return new EmulatorTokens(answer.AccessToken, answer.RefreshToken!, answer.ExpiresIn);
    }

    /// <summary>
    /// Creates the service account <c>{name}@calendar-emulator.iam.gserviceaccount.com</c> if needed (a fresh name when
    /// null) and returns a new JSON key file for it, as Google's IAM hands it out.
    /// </summary>
    public async Task<string> CreateServiceAccountKeyAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        var content = name is null ? null : Json(new ServiceAccountRequest(name), EmulatorJson.Wire.ServiceAccountRequest);
        using var response = await SendAsync(HttpMethod.Post, "emulator/v1/service-accounts", content, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>Revokes every token of <paramref name="user"/>, as the user removing the app's access in their Google account; returns how many were revoked.</summary>
    public async Task<int> RevokeAsync(string user, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, $"emulator/v1/users/{Uri.EscapeDataString(user)}/revoke", null, cancellationToken);
        return (await ReadAsync(response, EmulatorJson.Wire.RevokeAnswer, cancellationToken)).Revoked;
    }

    /// <summary>The active (not stopped, not expired) push channels, ordered by id; of one calendar when given.</summary>
    public async Task<IReadOnlyList<EmulatorChannel>> GetChannelsAsync(string? calendarId = null, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, "emulator/v1/channels", null, cancellationToken);
        var list = await ReadAsync(response, EmulatorJson.Wire.ItemListChannelItem, cancellationToken);
        return [.. list.Items
            .Where(c => calendarId is null || c.CalendarId == calendarId)
            .Select(c => new EmulatorChannel(c.Id, c.ResourceId, c.CalendarId, new Uri(c.Address), c.Token,
                DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(c.Expiration, CultureInfo.InvariantCulture)), c.User, c.Delivered, c.Failed))];
    }

    /// <summary>
    /// The ground truth of <paramref name="calendarId"/>: every committed event mutation after <paramref name="after"/>
    /// (a <see cref="EmulatorMutation.Seq"/>), in order; at most <paramref name="limit"/> of them (1 to 100,000; default all).
    /// </summary>
    public async Task<IReadOnlyList<EmulatorMutation>> GetHistoryAsync(string calendarId, long after = 0, int? limit = null,
        CancellationToken cancellationToken = default)
    {
        var query = $"?after={after.ToString(CultureInfo.InvariantCulture)}"
            + (limit is { } most ? $"&limit={most.ToString(CultureInfo.InvariantCulture)}" : "");
        using var response = await SendAsync(HttpMethod.Get, CalendarPath(calendarId, "/history" + query), null, cancellationToken);
        var list = await ReadAsync(response, EmulatorJson.Wire.ItemListHistoryItem, cancellationToken);
        return [.. list.Items.Select(h => new EmulatorMutation(h.Seq, h.Kind, h.EventId,
            DateTimeOffset.Parse(h.At, CultureInfo.InvariantCulture), h.Event.AsObject()))];
    }

    /// <summary>Makes every sync token issued so far for <paramref name="calendarId"/> answer 410 <c>fullSyncRequired</c>.</summary>
    public Task ExpireSyncTokensAsync(string calendarId, CancellationToken cancellationToken = default) =>
        SendExpectingNoContentAsync(HttpMethod.Post, CalendarPath(calendarId, "/expire-sync-tokens"), null, cancellationToken);

    /// <summary>
    /// "This and following" edited in Google Calendar's web UI from the instance <paramref name="instanceId"/> of a
    /// recurring event: the series is truncated before it and a new series starts there with <paramref name="edit"/>
    /// (event fields, as in <c>events.patch</c>) applied. The new series' id is derived from the original
    /// (<c>{id}_R{start in UTC}</c>), or a fresh one with <paramref name="newId"/>: Google does both. The instance must
    /// not be the series' first (400). Returns the new series' master event, in Google's JSON.
    /// </summary>
    public async Task<JsonObject> EditThisAndFollowingAsync(string calendarId, string instanceId, JsonObject edit, bool newId = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(edit);
        var content = Json(new SplitRequest(edit, newId), EmulatorJson.Wire.SplitRequest);
        using var response = await SendAsync(HttpMethod.Post, EventPath(calendarId, instanceId, "/this-and-following"), content, cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.JsonObject, cancellationToken);
    }

    /// <summary>
    /// "Delete this and following events" from Google Calendar's web UI: the series of the instance
    /// <paramref name="instanceId"/> ends the day before it and its exceptions from there on are cancelled. The
    /// instance must not be the series' first (400: delete the event itself).
    /// </summary>
    public Task DeleteThisAndFollowingAsync(string calendarId, string instanceId, CancellationToken cancellationToken = default) =>
        SendExpectingNoContentAsync(HttpMethod.Post, EventPath(calendarId, instanceId, "/delete-this-and-following"), null, cancellationToken);

    /// <summary>
    /// The attendee <paramref name="email"/> answers the invitation to <paramref name="eventId"/> from their own
    /// calendar: its <c>responseStatus</c> (<c>needsAction</c>, <c>declined</c>, <c>tentative</c> or <c>accepted</c>)
    /// and optional <paramref name="comment"/> change on the organizer's copy, a new version of the event. Returns it.
    /// </summary>
    public async Task<JsonObject> RespondAsync(string calendarId, string eventId, string email, string responseStatus, string? comment = null,
        CancellationToken cancellationToken = default)
    {
        var content = Json(new RespondRequest(email, responseStatus, comment), EmulatorJson.Wire.RespondRequest);
        using var response = await SendAsync(HttpMethod.Post, EventPath(calendarId, eventId, "/respond"), content, cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.JsonObject, cancellationToken);
    }

    /// <summary>
    /// Google Meet fills in the conference of <paramref name="eventId"/> a moment after the event was saved:
    /// <c>conferenceData</c> (answering a pending <c>createRequest</c>) and <c>hangoutLink</c> are set, a new version
    /// of the event. Returns it.
    /// </summary>
    public async Task<JsonObject> AddConferenceAsync(string calendarId, string eventId, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, EventPath(calendarId, eventId, "/conference"), null, cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.JsonObject, cancellationToken);
    }

    /// <summary>
    /// The owner shares <paramref name="calendarId"/> with <paramref name="user"/> as <paramref name="role"/>
    /// (<c>freeBusyReader</c>, <c>reader</c>, <c>writer</c> or <c>owner</c>): it enters the user's calendar list, as
    /// an ACL rule added in Google Calendar's sharing settings. The user is created if needed.
    /// </summary>
    public Task ShareCalendarAsync(string calendarId, string user, string role = "reader", CancellationToken cancellationToken = default) =>
        SendExpectingNoContentAsync(HttpMethod.Post, CalendarPath(calendarId, "/share"),
            Json(new ShareRequest(user, role), EmulatorJson.Wire.ShareRequest), cancellationToken);

    /// <summary>
    /// The owner stops sharing <paramref name="calendarId"/> with <paramref name="user"/>: it leaves the user's
    /// calendar list (a deleted entry for a sync token) and the user's push channels on it stop. 404 when it was not shared.
    /// </summary>
    public Task UnshareCalendarAsync(string calendarId, string user, CancellationToken cancellationToken = default) =>
        SendExpectingNoContentAsync(HttpMethod.Post, CalendarPath(calendarId, "/unshare"),
            Json(new UserRequest(user), EmulatorJson.Wire.UserRequest), cancellationToken);

    /// <summary>
    /// The owner renames <paramref name="calendarId"/> to <paramref name="summary"/>. As at Google, this is a property
    /// of the calendar: calendar-list entries show it but their etags do not move and no push is sent.
    /// </summary>
    public Task RenameCalendarAsync(string calendarId, string summary, CancellationToken cancellationToken = default) =>
        SendExpectingNoContentAsync(HttpMethod.Post, CalendarPath(calendarId, "/rename"),
            Json(new RenameRequest(summary), EmulatorJson.Wire.RenameRequest), cancellationToken);

    /// <summary>
    /// The owner deletes the secondary calendar <paramref name="calendarId"/> (a primary one answers 400
    /// <c>cannotDeletePrimaryCalendar</c>): it leaves every calendar list and every push channel on it stops.
    /// </summary>
    public Task DeleteCalendarAsync(string calendarId, CancellationToken cancellationToken = default) =>
        SendExpectingNoContentAsync(HttpMethod.Delete, CalendarPath(calendarId, ""), null, cancellationToken);

    /// <summary>The faults in force.</summary>
    public async Task<FaultSettings> GetFaultsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, "emulator/v1/faults", null, cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.FaultSettings, cancellationToken);
    }

    /// <summary>Replaces the faults in force with <paramref name="faults"/> (an invalid rate answers 400).</summary>
    public async Task<FaultSettings> SetFaultsAsync(FaultSettings faults, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Put, "emulator/v1/faults", Json(faults, EmulatorJson.Wire.FaultSettings), cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.FaultSettings, cancellationToken);
    }

    /// <summary>Turns every fault off.</summary>
    public Task ResetFaultsAsync(CancellationToken cancellationToken = default) =>
        SendExpectingNoContentAsync(HttpMethod.Delete, "emulator/v1/faults", null, cancellationToken);

    /// <summary>The run-time settings.</summary>
    public async Task<RuntimeConfig> GetConfigAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, "emulator/v1/config", null, cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.RuntimeConfig, cancellationToken);
    }

    /// <summary>
    /// Changes the given run-time settings (null keeps one; a <paramref name="syncTokenLifetimeSeconds"/> of 0 makes
    /// sync tokens live forever) and returns them all.
    /// </summary>
    public async Task<RuntimeConfig> SetConfigAsync(int? maxChannelTtlSeconds = null, int? syncTokenLifetimeSeconds = null,
        bool? requireHttpsAddress = null, bool? instanceTombstonesOnSeriesDelete = null, CancellationToken cancellationToken = default)
    {
        var body = new ConfigBody(maxChannelTtlSeconds, syncTokenLifetimeSeconds, requireHttpsAddress, instanceTombstonesOnSeriesDelete);
        using var response = await SendAsync(HttpMethod.Put, "emulator/v1/config", Json(body, EmulatorJson.Wire.ConfigBody), cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.RuntimeConfig, cancellationToken);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static string CalendarPath(string calendarId, string rest) => $"emulator/v1/calendars/{Uri.EscapeDataString(calendarId)}{rest}";

    private static string EventPath(string calendarId, string eventId, string rest) =>
        CalendarPath(calendarId, $"/events/{Uri.EscapeDataString(eventId)}{rest}");

    private static JsonContent Json<T>(T body, JsonTypeInfo<T> type) => JsonContent.Create(body, type);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
        return await _http.SendAsync(request, cancellationToken);
    }

    private async Task SendExpectingNoContentAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(method, path, content, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type,
        CancellationToken cancellationToken)
    {
        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync(type, cancellationToken)
            ?? throw new HttpRequestException($"{response.RequestMessage?.RequestUri} answered an empty body.");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {body}",
                null, response.StatusCode);
        }
    }
}

/// <summary>OAuth tokens the emulator issued for a user (<c>POST /emulator/v1/tokens</c>).</summary>
/// <param name="AccessToken">A Bearer token for <c>/calendar/v3/</c>.</param>
/// <param name="RefreshToken">A refresh token that <c>POST /token</c> exchanges for new access tokens.</param>
/// <param name="ExpiresIn">The access token's life, in seconds.</param>
public sealed record EmulatorTokens(string AccessToken, string RefreshToken, int ExpiresIn);

/// <summary>An active push channel (<c>GET /emulator/v1/channels</c>).</summary>
/// <param name="Id">The channel id the watcher chose.</param>
/// <param name="ResourceId">The emulator's id of the watched resource.</param>
/// <param name="CalendarId">The watched calendar, or null for a calendar-list channel.</param>
/// <param name="Address">Where notifications are posted.</param>
/// <param name="Token">The watcher's <c>X-Goog-Channel-Token</c>, if any.</param>
/// <param name="Expiration">When the channel expires.</param>
/// <param name="User">The user that opened it.</param>
/// <param name="Delivered">Notifications the address acknowledged.</param>
/// <param name="Failed">Notifications that failed after every attempt.</param>
public sealed record EmulatorChannel(string Id, string ResourceId, string? CalendarId, Uri Address, string? Token,
    DateTimeOffset Expiration, string User, long Delivered, long Failed);

/// <summary>One committed event mutation (<c>GET /emulator/v1/calendars/{id}/history</c>).</summary>
/// <param name="Seq">Its position in the calendar's history, from 1.</param>
/// <param name="Kind"><c>created</c>, <c>updated</c> or <c>deleted</c>.</param>
/// <param name="EventId">The event's id.</param>
/// <param name="At">When it was committed, on the emulator's clock.</param>
/// <param name="Event">The event after the mutation, in Google's JSON.</param>
public sealed record EmulatorMutation(long Seq, string Kind, string EventId, DateTimeOffset At, JsonObject Event);
