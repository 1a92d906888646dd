using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Calhook.Google;

internal sealed partial class GoogleCalendarClient
{
    /// <summary>
    /// One page of calendarList.list, with the same parameters on the full and the incremental list (Google's rule):
    /// <c>showDeleted=true&amp;showHidden=true&amp;maxResults=250</c>, plus the sync token when there is one.
    /// </summary>
    public async Task<GoogleResponse<CalendarListSyncPage>> ListCalendarListPageAsync(
        string accountId, string? syncToken, string? pageToken, CancellationToken cancellationToken)
    {
        var uri = "calendar/v3/users/me/calendarList?maxResults=250&showDeleted=true&showHidden=true"
            + (syncToken is null ? "" : "&syncToken=" + Uri.EscapeDataString(syncToken))
            + (pageToken is null ? "" : "&pageToken=" + Uri.EscapeDataString(pageToken));
        var response = await SendAsync(accountId, () => new HttpRequestMessage(HttpMethod.Get, uri), Json(GoogleJsonContext.Default.CalendarListWire), cancellationToken);
        return response.IsSuccess
            ? GoogleResponse<CalendarListSyncPage>.Ok(new CalendarListSyncPage(response.Value!.Items ?? [], response.Value.NextPageToken, response.Value.NextSyncToken))
            : GoogleResponse<CalendarListSyncPage>.Fail(response.Error!);
    }

    /// <summary>calendarList.watch: opens a web_hook channel on the account's calendar list.</summary>
    public Task<GoogleResponse<OpenedChannel>> WatchCalendarListAsync(string accountId, ChannelRequest channel, CancellationToken cancellationToken) =>
        WatchAsync(accountId, "calendar/v3/users/me/calendarList/watch", channel, cancellationToken);
}

/// <summary>A page of calendarList for syncing: the entries as Google's raw JSON, and a page or (last page) sync token.</summary>
internal sealed record CalendarListSyncPage(IReadOnlyList<JsonElement> Items, string? NextPageToken, string? NextSyncToken);
