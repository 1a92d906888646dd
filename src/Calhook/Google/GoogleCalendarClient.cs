using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Calhook.Accounts;
using Calhook.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Google;

/// <summary>
/// The small typed Calendar v3 client (events.list, events.watch, channels.stop, calendarList). Each call acts as
/// one Calhook account: the client obtains (and refreshes) that account's access token itself.
/// Expected failures are values (<see cref="GoogleResponse{T}"/>), never exceptions. Rate limits, 5xx and broken
/// connections are retried by the HTTP pipeline (see <see cref="GoogleSetup"/>) before they become values here.
/// Thread-safe.
/// </summary>
internal sealed partial class GoogleCalendarClient
{
    /// <summary>The HttpClient name (configured in <see cref="GoogleSetup"/>).</summary>
    public const string HttpClientName = "calhook-google";

    private readonly IHttpClientFactory _httpClientFactory;
    private readonly AccountCredentials _credentials;
    private readonly ILogger<GoogleCalendarClient> _logger;
    private readonly TimeProvider _time;
    private readonly GoogleQuota _quota;
    private readonly TimeSpan _attemptTimeout;
    private readonly int _pageSize;

    public GoogleCalendarClient(
        IHttpClientFactory httpClientFactory, AccountCredentials credentials, IOptions<GoogleClientOptions> options, GoogleQuota quota, TimeProvider time,
        ILogger<GoogleCalendarClient> logger)
    {
        _quota = quota;
        _httpClientFactory = httpClientFactory;
        _credentials = credentials;
        _attemptTimeout = options.Value.AttemptTimeout;
        _pageSize = options.Value.EventsPageSize;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// One page of events.list. Without a sync token: a full list; with one: the incremental page. Both send the same
    /// parameters (<c>maxResults</c> <see cref="GoogleClientOptions.EventsPageSize"/>, <c>showDeleted=true</c>, no
    /// <c>singleEvents</c>), as Google requires: every parameter other than the tokens must be the one of the full
    /// sync the token came from. Callers follow <see cref="EventsPage.NextPageToken"/> until
    /// <see cref="EventsPage.NextSyncToken"/> is set.
    /// </summary>
    public async Task<GoogleResponse<EventsPage>> ListEventsPageAsync(
        string accountId, string calendarId, string? syncToken, string? pageToken, CancellationToken cancellationToken)
    {
        var query = new List<string> { "maxResults=" + _pageSize.ToString(CultureInfo.InvariantCulture), "showDeleted=true" };
        if (syncToken is not null)
        {
            query.Add("syncToken=" + Uri.EscapeDataString(syncToken));
        }

        if (pageToken is not null)
        {
            query.Add("pageToken=" + Uri.EscapeDataString(pageToken));
        }

        var uri = $"calendar/v3/calendars/{Uri.EscapeDataString(calendarId)}/events?{string.Join('&', query)}";
        // Streamed: the body is parsed as it arrives into the page's pooled document, never buffered whole first
        // (a 2,500-event page is megabytes, and a buffer per page is garbage the size of the page).
        return await SendAsync(accountId, () => new HttpRequestMessage(HttpMethod.Get, uri), EventsPage.ReadAsync, cancellationToken, streamed: true);
    }

    /// <summary>One page of the account's calendarList.</summary>
    public async Task<GoogleResponse<CalendarListPage>> ListCalendarsPageAsync(string accountId, string? pageToken, CancellationToken cancellationToken)
    {
        var uri = "calendar/v3/users/me/calendarList?maxResults=250" + (pageToken is null ? "" : "&pageToken=" + Uri.EscapeDataString(pageToken));
        var response = await SendAsync(accountId, () => new HttpRequestMessage(HttpMethod.Get, uri), Json(GoogleJsonContext.Default.CalendarListWire), cancellationToken);
        return response.IsSuccess
            ? GoogleResponse<CalendarListPage>.Ok(new CalendarListPage(response.Value!.Items ?? [], response.Value.NextPageToken))
            : GoogleResponse<CalendarListPage>.Fail(response.Error!);
    }

    /// <summary>events.watch: opens a web_hook channel on the calendar's events.</summary>
    public Task<GoogleResponse<OpenedChannel>> WatchEventsAsync(
        string accountId, string calendarId, ChannelRequest channel, CancellationToken cancellationToken) =>
        WatchAsync(accountId, $"calendar/v3/calendars/{Uri.EscapeDataString(calendarId)}/events/watch", channel, cancellationToken);

    /// <summary>A <c>watch</c> call (events or calendar list, by <paramref name="uri"/>) that opens a web_hook channel.</summary>
    private async Task<GoogleResponse<OpenedChannel>> WatchAsync(string accountId, string uri, ChannelRequest channel, CancellationToken cancellationToken)
    {
        var body = new ChannelWire
        {
            Id = channel.Id,
            Token = channel.Token,
            Type = "web_hook",
            Address = channel.Address,
            Params = channel.Ttl is { } ttl ? new() { ["ttl"] = ((long)ttl.TotalSeconds).ToString(CultureInfo.InvariantCulture) } : null,
        };
        var response = await SendAsync(
            accountId,
            () => new HttpRequestMessage(HttpMethod.Post, uri) { Content = JsonContent.Create(body, GoogleJsonContext.Default.ChannelWire) },
            Json(GoogleJsonContext.Default.ChannelWire),
            cancellationToken);
        if (!response.IsSuccess)
        {
            return GoogleResponse<OpenedChannel>.Fail(response.Error!);
        }

        var wire = response.Value!;
        DateTimeOffset? expiresAt = wire.Expiration is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        return GoogleResponse<OpenedChannel>.Ok(new OpenedChannel(wire.Id ?? channel.Id, wire.ResourceId ?? "", expiresAt));
    }

    /// <summary>channels.stop. A 404 means the channel is already gone; callers usually treat it as done.</summary>
    public async Task<GoogleResponse<ChannelStopped>> StopChannelAsync(
        string accountId, string channelId, string resourceId, CancellationToken cancellationToken)
    {
        var body = new ChannelWire { Id = channelId, ResourceId = resourceId };
        var response = await SendAsync<ChannelStopped>(
            accountId,
            () => new HttpRequestMessage(HttpMethod.Post, "calendar/v3/channels/stop") { Content = JsonContent.Create(body, GoogleJsonContext.Default.ChannelWire) },
            read: null,
            cancellationToken);
        return response.IsSuccess ? GoogleResponse<ChannelStopped>.Ok(ChannelStopped.Instance) : GoogleResponse<ChannelStopped>.Fail(response.Error!);
    }

    /// <summary>
    /// Sends with the account's access token. A 401 gets one forced token refresh and one more try; a second 401
    /// (or a refused refresh) is <see cref="GoogleErrorKind.NeedsReauth"/>.
    /// </summary>
    private async Task<GoogleResponse<T>> SendAsync<T>(
        string accountId, Func<HttpRequestMessage> createRequest, Func<HttpContent, CancellationToken, Task<T?>>? read, CancellationToken cancellationToken,
        bool streamed = false)
        where T : class
    {
        if (_quota.SpentUntil(accountId) is { } spentUntil)
        {
            // Asking before the quota resets would only be refused, and count against the next window.
            return GoogleResponse<T>.Fail(new GoogleError(GoogleErrorKind.QuotaExhausted, 403, null, QuotaMessage(spentUntil), spentUntil));
        }

        var client = _httpClientFactory.CreateClient(HttpClientName);
        for (var attempt = 0; ; attempt++)
        {
            var token = await _credentials.GetAccessTokenAsync(accountId, forceRefresh: attempt > 0, cancellationToken);
            if (token.Error is { } tokenError)
            {
                return GoogleResponse<T>.Fail(tokenError);
            }

            using var request = createRequest();
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.AccessToken);
            request.Options.Set(RequestBudgetHandler.AccountKey, accountId);
            if (token.QuotaUser is { } quotaUser)
            {
                request.Headers.Add("x-goog-quota-user", quotaUser);
            }

            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, streamed ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                LogTransportFailure(_logger, request.Method.Method, request.RequestUri?.AbsolutePath, ex.GetType().Name);
                return GoogleResponse<T>.Fail(new GoogleError(GoogleErrorKind.Transient, 0, null, ex.Message));
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    if (read is null)
                    {
                        return GoogleResponse<T>.Ok((T)(object)ChannelStopped.Instance);
                    }

                    T? value;
                    try
                    {
                        // A streamed body is read after the pipeline's attempt timeout ended: it gets one of its own.
                        using var bodyTimeout = new CancellationTokenSource(_attemptTimeout, _time);
                        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bodyTimeout.Token);
                        value = await read(response.Content, reading.Token);
                    }
                    catch (Exception ex) when (streamed && (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)))
                    {
                        LogTransportFailure(_logger, request.Method.Method, request.RequestUri?.AbsolutePath, ex.GetType().Name);
                        return GoogleResponse<T>.Fail(new GoogleError(GoogleErrorKind.Transient, 0, null, ex.Message));
                    }

                    return value is null
                        ? GoogleResponse<T>.Fail(new GoogleError(GoogleErrorKind.Other, (int)response.StatusCode, null, "Empty response body."))
                        : GoogleResponse<T>.Ok(value);
                }

                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                var error = GoogleErrors.Map(response.StatusCode, body);
                LogCallFailed(_logger, request.Method.Method, request.RequestUri?.AbsolutePath, error.Status, error.Reason);
                if (error.Kind == GoogleErrorKind.QuotaExhausted)
                {
                    var until = _quota.Spend(accountId, error.Reason);
                    return GoogleResponse<T>.Fail(error with { Message = $"{error.Reason}: {QuotaMessage(until)}", RetryAt = until });
                }

                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    if (attempt == 0)
                    {
                        continue;
                    }

                    await _credentials.MarkNeedsReauthAsync(accountId, "Google refused the account's credentials twice (401).", cancellationToken);
                }

                return GoogleResponse<T>.Fail(error);
            }
        }
    }

    private static string QuotaMessage(DateTimeOffset until) =>
        $"Google's quota is spent; no request is made before it resets at {until.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}.";

    private static Func<HttpContent, CancellationToken, Task<T?>> Json<T>(JsonTypeInfo<T> typeInfo) =>
        (content, cancellationToken) => content.ReadFromJsonAsync(typeInfo, cancellationToken);

    [LoggerMessage(EventId = LogEvents.GoogleCallFailed, Level = LogLevel.Warning, Message = "Google {Method} {Path} failed with {Status} ({Reason})")]
    private static partial void LogCallFailed(ILogger logger, string method, string? path, int status, string? reason);

    [LoggerMessage(EventId = LogEvents.GoogleUnreachable, Level = LogLevel.Warning, Message = "Google {Method} {Path} could not be reached ({Failure})")]
    private static partial void LogTransportFailure(ILogger logger, string method, string? path, string failure);
}

/// <summary>A page of calendarList: the entries as Google's raw JSON.</summary>
internal sealed record CalendarListPage(IReadOnlyList<JsonElement> Items, string? NextPageToken);

/// <summary>What Calhook asks events.watch for. <see cref="Ttl"/> null leaves Google's default (7 days).</summary>
internal sealed record ChannelRequest(string Id, string Token, string Address, TimeSpan? Ttl);

/// <summary>Google's answer to events.watch: the resource id to stop it with and the effective expiry.</summary>
internal sealed record OpenedChannel(string Id, string ResourceId, DateTimeOffset? ExpiresAt);

/// <summary>The (empty) success of channels.stop.</summary>
internal sealed record ChannelStopped
{
    public static readonly ChannelStopped Instance = new();
}
