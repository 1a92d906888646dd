using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Calhook.Emulator.Users;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace Calhook.Emulator.Calendars;

/// <summary>
/// <c>calendarList.list</c> with Google's parameters: <c>maxResults</c> (default 100, at most 250), <c>pageToken</c>,
/// <c>showDeleted</c>, <c>showHidden</c>, <c>minAccessRole</c> and <c>syncToken</c>. With a sync token only entries
/// changed since come back, deleted ones as <c>{"kind","etag","id","deleted":true}</c>; <c>minAccessRole</c> is then a
/// 400, as are <c>showDeleted=false</c> and <c>showHidden=false</c>. An unreadable token is a 400, one of another
/// emulator run or user a 410 <c>fullSyncRequired</c>.
/// </summary>
internal static class CalendarListPage
{
    private static readonly string[] Roles = ["freeBusyReader", "reader", "writer", "owner"];

    public static IResult List(HttpContext http, CalendarStore store)
    {
        var user = http.User();
        var query = http.Request.Query;
        var syncToken = query["syncToken"].ToString() is { Length: > 0 } s ? s : null;
        var minRole = query["minAccessRole"].ToString() is { Length: > 0 } r ? r : null;
        if (minRole is not null && Array.IndexOf(Roles, minRole) < 0)
        {
            return GoogleError.Invalid("Invalid Value", "minAccessRole").ToResult();
        }

        if (!TryFlag(query, "showDeleted", out var showDeleted))
        {
            return GoogleError.Invalid("Invalid Value", "showDeleted").ToResult();
        }

        if (!TryFlag(query, "showHidden", out var showHidden))
        {
            return GoogleError.Invalid("Invalid Value", "showHidden").ToResult();
        }

        var maxResults = 100;
        if (query["maxResults"].ToString() is { Length: > 0 } max)
        {
            if (!int.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out maxResults) || maxResults < 1)
            {
                return GoogleError.Invalid("Invalid Value", "maxResults").ToResult();
            }

            maxResults = Math.Min(maxResults, 250);
        }

        long after = 0;
        if (syncToken is not null)
        {
            if (minRole is not null)
            {
                return GoogleError.Invalid("The minAccessRole parameter cannot be used with syncToken.", "minAccessRole").ToResult();
            }

            if (showDeleted == false || showHidden == false)
            {
                return GoogleError.Invalid("showDeleted and showHidden cannot be false with syncToken.", "syncToken").ToResult();
            }

            var (seq, error) = ReadSyncToken(store, user, syncToken);
            if (error is not null)
            {
                return error.ToResult();
            }

            after = seq;
        }

        var (entries, snapshot, offset) = (default(List<ListEntry>), 0L, 0);
        if (query["pageToken"].ToString() is { Length: > 0 } pageToken)
        {
            if (DecodePage(pageToken) is not { } position || position.After != after)
            {
                return GoogleError.Invalid("Invalid Value", "pageToken").ToResult();
            }

            (snapshot, offset) = (position.Snapshot, position.Offset);
            entries = store.Lists.ChangedAfter(user, after).Entries;
        }
        else
        {
            (entries, snapshot) = store.Lists.ChangedAfter(user, after);
        }

        var items = new List<JsonObject>();
        foreach (var entry in entries.Where(e => e.Seq <= snapshot).OrderBy(e => e.Seq))
        {
            if (entry.Deleted)
            {
                // Deleted entries always come with a sync token; without one only with showDeleted.
                if (syncToken is not null || showDeleted == true)
                {
                    items.Add(Tombstone(entry));
                }

                continue;
            }

            if (store.Find(entry.CalendarId) is not { IsDeleted: false } calendar)
            {
                continue;
            }

            if (minRole is not null && Array.IndexOf(Roles, entry.AccessRole) < Array.IndexOf(Roles, minRole))
            {
                continue;
            }

            items.Add(CalendarEndpoints.ListEntryJson(calendar, entry.AccessRole, user, entry));
        }

        var page = items.Skip(offset).Take(maxResults).ToList();
        var more = offset + page.Count < items.Count;
        var json = new JsonObject
        {
            ["kind"] = "calendar#calendarList",
            ["etag"] = $"\"p{snapshot.ToString(CultureInfo.InvariantCulture)}\"",
        };
        if (more)
        {
            json["nextPageToken"] = Encode($"c|{snapshot}|{after}|{offset + page.Count}");
        }
        else
        {
            json["nextSyncToken"] = Encode($"l|{store.Runtime.InstanceId}|{user}|{snapshot}");
        }

        json["items"] = new JsonArray([.. page]);
        return JsonResults.Node(json);
    }

    private static JsonObject Tombstone(ListEntry entry) => new()
    {
        ["kind"] = "calendar#calendarListEntry",
        ["etag"] = $"\"{entry.Updated.ToUnixTimeMilliseconds() * 1000 + entry.Seq % 1000}\"",
        ["id"] = entry.CalendarId,
        ["deleted"] = true,
    };

    private static bool TryFlag(IQueryCollection query, string name, out bool? value)
    {
        value = null;
        var text = query[name].ToString();
        if (text.Length == 0)
        {
            return true;
        }

        if (!bool.TryParse(text, out var flag))
        {
            return false;
        }

        value = flag;
        return true;
    }

    private static (long Seq, GoogleError? Error) ReadSyncToken(CalendarStore store, string user, string token)
    {
        var parts = Decode(token)?.Split('|');
        if (parts is not { Length: 4 } || parts[0] != "l" || !long.TryParse(parts[3], CultureInfo.InvariantCulture, out var seq))
        {
            return (0, GoogleError.Invalid("Invalid sync token value.", "syncToken"));
        }

        return parts[1] != store.Runtime.InstanceId || parts[2] != user || seq > store.Lists.LastSeq
            ? (0, GoogleError.FullSyncRequired())
            : (seq, null);
    }

    private static (long Snapshot, long After, int Offset)? DecodePage(string token)
    {
        var parts = Decode(token)?.Split('|');
        return parts is { Length: 4 } && parts[0] == "c"
            && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var snapshot)
            && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var after)
            && int.TryParse(parts[3], CultureInfo.InvariantCulture, out var offset) && offset >= 0
            ? (snapshot, after, offset)
            : null;
    }

    private static string Encode(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).Replace('+', '-').Replace('/', '_');

    private static string? Decode(string token)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/')));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
