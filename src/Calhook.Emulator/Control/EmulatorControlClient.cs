using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
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
        using var response = await _http.PostAsJsonAsync("emulator/v1/tokens", new TokenRequest(user), EmulatorJson.Wire.TokenRequest, cancellationToken);
        var answer = await ReadAsync(response, EmulatorJson.Wire.TokenAnswer, cancellationToken);
        return new EmulatorTokens(answer.AccessToken, answer.RefreshToken!, answer.ExpiresIn);
    }

    /// <summary>
    /// Creates the service account <c>{name}@calendar-emulator.iam.gserviceaccount.com</c> if needed (a fresh name when
    /// null) and returns a new JSON key file for it, as Google's IAM hands it out.
    /// </summary>
    public async Task<string> CreateServiceAccountKeyAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        using var content = name is null ? null : JsonContent.Create(new ServiceAccountRequest(name), EmulatorJson.Wire.ServiceAccountRequest);
        using var response = await _http.PostAsync(new Uri("emulator/v1/service-accounts", UriKind.Relative), content, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>Revokes every token of <paramref name="user"/>; returns how many were revoked.</summary>
    public async Task<int> RevokeAsync(string user, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsync(new Uri($"emulator/v1/users/{Uri.EscapeDataString(user)}/revoke", UriKind.Relative), null, cancellationToken);
        return (await ReadAsync(response, EmulatorJson.Wire.RevokeAnswer, cancellationToken)).Revoked;
    }

    /// <summary>The active (not stopped, not expired) push channels, ordered by id; of one calendar when given.</summary>
    public async Task<IReadOnlyList<EmulatorChannel>> GetChannelsAsync(string? calendarId = null, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri("emulator/v1/channels", UriKind.Relative), cancellationToken);
        var list = await ReadAsync(response, EmulatorJson.Wire.ItemListChannelItem, cancellationToken);
        return [.. list.Items
            .Where(c => calendarId is null || c.CalendarId == calendarId)
            .Select(c => new EmulatorChannel(c.Id, c.ResourceId, c.CalendarId, new Uri(c.Address), c.Token,
                DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(c.Expiration, CultureInfo.InvariantCulture)), c.User, c.Delivered, c.Failed))];
    }

    /// <summary>
    /// The ground truth of <paramref name="calendarId"/>: every committed event mutation after <paramref name="after"/>
    /// (a <see cref="EmulatorMutation.Seq"/>), in order.
    /// </summary>
    public async Task<IReadOnlyList<EmulatorMutation>> GetHistoryAsync(string calendarId, long after = 0, CancellationToken cancellationToken = default)
    {
        var path = $"emulator/v1/calendars/{Uri.EscapeDataString(calendarId)}/history?after={after.ToString(CultureInfo.InvariantCulture)}";
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        var list = await ReadAsync(response, EmulatorJson.Wire.ItemListHistoryItem, cancellationToken);
        return [.. list.Items.Select(h => new EmulatorMutation(h.Seq, h.Kind, h.EventId,
            DateTimeOffset.Parse(h.At, CultureInfo.InvariantCulture), h.Event.AsObject()))];
    }

    /// <summary>Makes every sync token issued so far for <paramref name="calendarId"/> answer 410 <c>fullSyncRequired</c>.</summary>
    public async Task ExpireSyncTokensAsync(string calendarId, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsync(
            new Uri($"emulator/v1/calendars/{Uri.EscapeDataString(calendarId)}/expire-sync-tokens", UriKind.Relative), null, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    /// <summary>The faults in force.</summary>
    public async Task<FaultSettings> GetFaultsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri("emulator/v1/faults", UriKind.Relative), cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.FaultSettings, cancellationToken);
    }

    /// <summary>Replaces the faults in force with <paramref name="faults"/> (an invalid rate answers 400).</summary>
    public async Task<FaultSettings> SetFaultsAsync(FaultSettings faults, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PutAsJsonAsync("emulator/v1/faults", faults, EmulatorJson.Wire.FaultSettings, cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.FaultSettings, cancellationToken);
    }

    /// <summary>Turns every fault off.</summary>
    public async Task ResetFaultsAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.DeleteAsync(new Uri("emulator/v1/faults", UriKind.Relative), cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    /// <summary>The run-time settings.</summary>
    public async Task<RuntimeConfig> GetConfigAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri("emulator/v1/config", UriKind.Relative), cancellationToken);
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
        using var response = await _http.PutAsJsonAsync("emulator/v1/config", body, EmulatorJson.Wire.ConfigBody, cancellationToken);
        return await ReadAsync(response, EmulatorJson.Wire.RuntimeConfig, cancellationToken);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type,
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
