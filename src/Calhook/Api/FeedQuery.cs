using System.Globalization;
using Calhook.Changes;
using Calhook.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Calhook.Api;

/// <summary>The feed's query string, checked: a bad value is a 400 problem that names the parameter.</summary>
internal sealed record FeedQuery(ChangeQuery? Query, TimeSpan Wait, ProblemHttpResult? Problem)
{
    private static readonly HashSet<string> KnownTypes =
        [ChangeTypes.Created, ChangeTypes.Updated, ChangeTypes.Deleted, ChangeTypes.CalendarAdded, ChangeTypes.CalendarUpdated, ChangeTypes.CalendarRemoved];

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
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1))
        {
            if (!long.TryParse(limitText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var big) || big < 1)
            {
                return Fail("limit", $"must be a whole number from 1 (values above {ChangesApi.MaxLimit} are clamped)");
            }

            limit = ChangesApi.MaxLimit;
        }

        var waitSeconds = 0;
        if (query.TryGetValue("wait", out var waitText)
            && !int.TryParse(waitText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out waitSeconds))
        {
            return Fail("wait", $"must be a number of seconds, 0 or more (values above {ChangesApi.MaxWaitSeconds} are clamped)");
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
            types = [.. typeValues.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))];
            if (types.Count == 0 || types.Any(t => !KnownTypes.Contains(t)))
            {
                return Fail("type", "must be event.created, event.updated, event.deleted, calendar.added, calendar.updated or calendar.removed");
            }
        }

        var changeQuery = new ChangeQuery(after, Math.Min(limit, ChangesApi.MaxLimit), calendarId, types);
        return new FeedQuery(changeQuery, TimeSpan.FromSeconds(Math.Min(waitSeconds, ChangesApi.MaxWaitSeconds)), null);
    }

    public static ProblemHttpResult Invalid(string parameter, string rule) => TypedResults.Problem(
        statusCode: StatusCodes.Status400BadRequest,
        title: $"Invalid parameter '{parameter}'",
        detail: $"'{parameter}' {rule}.",
        extensions: new Dictionary<string, object?> { ["parameter"] = parameter });

    private static FeedQuery Fail(string parameter, string rule) => new(null, TimeSpan.Zero, Invalid(parameter, rule));
}
