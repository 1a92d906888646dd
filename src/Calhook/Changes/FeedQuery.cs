using System.Globalization;
using Calhook.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Primitives;

namespace Calhook.Changes;

/// <summary>The feed's query string, checked: a bad value is a 400 problem that names the parameter.</summary>
internal sealed record FeedQuery(ChangeQuery? Query, TimeSpan Wait, ProblemHttpResult? Problem)
{
    private static readonly HashSet<string> KnownTypes =
        [ChangeTypes.Created, ChangeTypes.Updated, ChangeTypes.Deleted, ChangeTypes.CalendarAdded, ChangeTypes.CalendarUpdated, ChangeTypes.CalendarRemoved];

    private const string TypeRule = "must be event.created, event.updated, event.deleted, calendar.added, calendar.updated or calendar.removed";

    /// <summary><c>after</c> ≥ 0 (default 0), <c>limit</c> ≥ 1 (default 100, clamped to 1000), <c>calendarId</c>,
    /// <c>type</c> (repeatable or comma-separated), <c>wait</c> seconds ≥ 0 (clamped to 60).</summary>
    public static FeedQuery Parse(IQueryCollection query)
    {
        long after = 0;
        if (query.TryGetValue("after", out var afterText)
            && !long.TryParse(afterText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            return Fail("after", "must be a sequence (a whole number, 0 or more)");
        }

        var limit = ChangesApi.DefaultLimit;
        if (query.TryGetValue("limit", out var limitText) && (!TryClamped(limitText, ChangesApi.MaxLimit, out limit) || limit < 1))
        {
            return Fail("limit", $"must be a whole number from 1 (values above {ChangesApi.MaxLimit} are clamped)");
        }

        var waitSeconds = 0;
        if (query.TryGetValue("wait", out var waitText) && !TryClamped(waitText, ChangesApi.MaxWaitSeconds, out waitSeconds))
        {
            return Fail("wait", $"must be a whole number of seconds, 0 or more (values above {ChangesApi.MaxWaitSeconds} are clamped)");
        }

        string? calendarId = null;
        if (query.TryGetValue("calendarId", out var calendarText))
        {
            calendarId = calendarText.ToString();
            if (calendarId.Length == 0)
            {
                return Fail("calendarId", "must not be empty");
            }
        }

        List<string>? types = null;
        if (query.TryGetValue("type", out var typeValues))
        {
            types = Split(typeValues);
            if (types.Count == 0 || types.Any(t => !KnownTypes.Contains(t)))
            {
                return Fail("type", TypeRule);
            }
        }

        return new FeedQuery(new ChangeQuery(after, limit, calendarId, types), TimeSpan.FromSeconds(waitSeconds), null);
    }

    /// <summary>
    /// The stream's filters, the same as a subscription's: <c>types</c>, <c>calendarIds</c> and <c>ignorePaths</c>
    /// (each repeatable or comma-separated; the feed's <c>type</c> and <c>calendarId</c> are accepted as well), and the
    /// resume point: <c>Last-Event-ID</c> when sent, else <c>after</c> (default 0).
    /// </summary>
    public static (long After, ChangeFilter? Filter, ProblemHttpResult? Problem) ParseStream(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var query = request.Query;
        long after = 0;
        if (query.TryGetValue("after", out var afterText)
            && !long.TryParse(afterText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            return (0, null, Invalid("after", "must be a sequence (a whole number, 0 or more)"));
        }

        if (request.Headers.TryGetValue("Last-Event-ID", out var header) && !StringValues.IsNullOrEmpty(header)
            && !long.TryParse(header.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            return (0, null, Invalid("Last-Event-ID", "must be a sequence (a whole number, 0 or more)"));
        }

        var types = Values(query, "types", "type");
        if (types is not null && (types.Count == 0 || types.Any(t => !KnownTypes.Contains(t))))
        {
            return (0, null, Invalid("types", TypeRule));
        }

        var calendars = Values(query, "calendarIds", "calendarId");
        if (calendars is { Count: 0 })
        {
            return (0, null, Invalid("calendarIds", "must name at least one calendar"));
        }

        // Diff paths carry commas inside brackets ([method=popup,minutes=10]): only commas outside brackets separate.
        List<string>? ignorePaths = query.TryGetValue("ignorePaths", out var patterns)
            ? [.. patterns.SelectMany(v => SplitOutsideBrackets(v ?? ""))]
            : null;
        if (ignorePaths is not null && (ignorePaths.Count == 0 ? "a pattern must not be empty" : ignorePaths.Select(IgnorePaths.Problem).FirstOrDefault(p => p is not null)) is { } rule)
        {
            return (0, null, Invalid("ignorePaths", rule));
        }

        return (after, new ChangeFilter(types, calendars, ignorePaths), null);
    }

    public static ProblemHttpResult Invalid(string parameter, string rule) => TypedResults.Problem(
        statusCode: StatusCodes.Status400BadRequest,
        title: $"Invalid parameter '{parameter}'",
        detail: $"'{parameter}' {rule}.",
        extensions: new Dictionary<string, object?> { ["parameter"] = parameter });

    private static FeedQuery Fail(string parameter, string rule) => new(null, TimeSpan.Zero, Invalid(parameter, rule));

    /// <summary>A whole number (digits only); one above <paramref name="max"/>, however long, is <paramref name="max"/>.</summary>
    private static bool TryClamped(StringValues text, int max, out int value)
    {
        var digits = text.ToString();
        value = 0;
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
        {
            return false;
        }

        value = long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed <= max ? (int)parsed : max;
        return true;
    }

    /// <summary>The values of the first of <paramref name="names"/> present, split at commas; null when none is present.</summary>
    private static List<string>? Values(IQueryCollection query, params string[] names)
    {
        foreach (var name in names)
        {
            if (query.TryGetValue(name, out var values))
            {
                return Split(values);
            }
        }

        return null;
    }

    private static IEnumerable<string> SplitOutsideBrackets(string text)
    {
        var (start, depth) = (0, 0);
        for (var i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ',' && depth == 0))
            {
                if (text[start..i].Trim() is { Length: > 0 } part)
                {
                    yield return part;
                }

                start = i + 1;
            }
            else
            {
                depth += text[i] == '[' ? 1 : text[i] == ']' ? -1 : 0;
            }
        }
    }

    private static List<string> Split(StringValues values) =>
        [.. values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))];
}
