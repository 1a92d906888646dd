using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace Calhook.Emulator.Events;

/// <summary>The parameters of <c>events.list</c> (and <c>instances</c>), parsed and checked as Google does.</summary>
internal sealed record ListQuery
{
    private static readonly string[] ForbiddenWithSyncToken =
        ["iCalUID", "orderBy", "privateExtendedProperty", "q", "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin"];

    public int MaxResults { get; init; } = 250;
    public string? PageToken { get; init; }
    public string? SyncToken { get; init; }
    public bool ShowDeleted { get; init; }
    public bool SingleEvents { get; init; }
    public DateTimeOffset? TimeMin { get; init; }
    public DateTimeOffset? TimeMax { get; init; }
    public DateTimeOffset? UpdatedMin { get; init; }
    public string? OrderBy { get; init; }
    public string[] Terms { get; init; } = [];
    public string? ICalUid { get; init; }
    public string[] EventTypes { get; init; } = [];
    public string? OriginalStart { get; init; }

    /// <summary>Identifies the query without its page token, so a page token cannot be replayed on another query.</summary>
    public string Hash { get; init; } = "";

    /// <summary>True when cancelled events belong in the result (incremental sync or showDeleted).</summary>
    public bool Incremental => SyncToken is not null || UpdatedMin is not null;

    public static (ListQuery? Query, GoogleError? Error) Parse(IQueryCollection query, int defaultMax = 250)
    {
        var result = new ListQuery { MaxResults = defaultMax };
        if (query["syncToken"].Count > 0)
        {
            foreach (var name in ForbiddenWithSyncToken)
            {
                if (query.ContainsKey(name))
                {
                    return (null, GoogleError.Invalid($"The {name} parameter cannot be used with syncToken.", name));
                }
            }
        }

        if (query["maxResults"].ToString() is { Length: > 0 } max)
        {
            if (!int.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            {
                return (null, GoogleError.Invalid("Invalid Value", "maxResults"));
            }

            result = result with { MaxResults = Math.Min(n, 2500) };
        }

        var (showDeleted, e1) = Bool(query, "showDeleted");
        var (singleEvents, e2) = Bool(query, "singleEvents");
        var (timeMin, e3) = Instant(query, "timeMin");
        var (timeMax, e4) = Instant(query, "timeMax");
        var (updatedMin, e5) = Instant(query, "updatedMin");
        if ((e1 ?? e2 ?? e3 ?? e4 ?? e5) is { } error)
        {
            return (null, error);
        }

        if (timeMin is not null && timeMax is not null && timeMax <= timeMin)
        {
            return (null, GoogleError.TimeRangeEmpty("timeMax"));
        }

        var orderBy = query["orderBy"].ToString() is { Length: > 0 } o ? o : null;
        if (orderBy is not (null or "startTime" or "updated"))
        {
            return (null, GoogleError.Invalid("Invalid Value", "orderBy"));
        }

        if (orderBy == "startTime" && !singleEvents)
        {
            return (null, GoogleError.Invalid("The requested ordering is not available for the particular query."));
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('&',
            query.Where(p => p.Key != "pageToken").OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")))))[..12];
        return (result with
        {
            PageToken = NonEmpty(query, "pageToken"),
            SyncToken = NonEmpty(query, "syncToken"),
            ShowDeleted = showDeleted,
            SingleEvents = singleEvents,
            TimeMin = timeMin,
            TimeMax = timeMax,
            UpdatedMin = updatedMin,
            OrderBy = orderBy,
            Terms = (NonEmpty(query, "q") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries),
            ICalUid = NonEmpty(query, "iCalUID"),
            EventTypes = query["eventTypes"].Where(t => !string.IsNullOrEmpty(t)).Select(t => t!).ToArray(),
            OriginalStart = NonEmpty(query, "originalStart"),
            Hash = hash,
        }, null);
    }

    private static string? NonEmpty(IQueryCollection query, string name) => query[name].ToString() is { Length: > 0 } v ? v : null;

    private static (bool, GoogleError?) Bool(IQueryCollection query, string name) => NonEmpty(query, name) switch
    {
        null or "false" => (false, null),
        "true" => (true, null),
        _ => (false, GoogleError.Invalid("Invalid Value", name)),
    };

    private static (DateTimeOffset?, GoogleError?) Instant(IQueryCollection query, string name)
    {
        if (NonEmpty(query, name) is not { } text)
        {
            return (null, null);
        }

        return EventTime.TryParseInstant(text, null, out var instant) ? (instant, null) : (null, GoogleError.Invalid("Bad Request", name));
    }
}
