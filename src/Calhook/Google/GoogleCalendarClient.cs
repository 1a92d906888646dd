using System.Text.Json;

namespace Calhook.Google;

/// <summary>
/// The small typed Calendar v3 client (events.list, events.watch, channels.stop, calendarList). Each call acts as
/// one Calhook account: the client obtains (and refreshes) that account's access token itself.
/// Expected failures are values (<see cref="GoogleResponse{T}"/>), never exceptions.
/// </summary>
internal sealed class GoogleCalendarClient
{
    /// <summary>
    /// One page of events.list. Without a sync token: a full list (<c>showDeleted=true</c>, no <c>singleEvents</c>,
    /// <c>maxResults</c> 2500). With one: the incremental page. Callers follow <see cref="EventsPage.NextPageToken"/>
    /// until <see cref="EventsPage.NextSyncToken"/> is set.
    /// </summary>
    public Task<GoogleResponse<EventsPage>> ListEventsPageAsync(
        string accountId, string calendarId, string? syncToken, string? pageToken, CancellationToken cancellationToken) =>
        throw new NotImplementedException();
}

/// <summary>A page of events.list: the items as Google's raw JSON, and the page or sync token.</summary>
internal sealed record EventsPage(IReadOnlyList<JsonElement> Items, string? NextPageToken, string? NextSyncToken);
