using System.Collections.Concurrent;
using NodaTime;

namespace Calhook.Google;

/// <summary>
/// Remembers that Google said a quota is spent, so that nothing asks Google again before it resets: a retry would
/// only be refused and count against the next window. <c>dailyLimitExceeded</c> is the project's daily quota (every
/// account waits); <c>quotaExceeded</c> is the Calendar usage limit of one account. Both are taken to reset at the
/// next midnight Pacific Time, when Google resets daily quotas (its error message says so). Thread-safe.
/// </summary>
internal sealed class GoogleQuota(TimeProvider time)
{
    private const string Project = "";
    private static readonly DateTimeZone Pacific = DateTimeZoneProviders.Tzdb["America/Los_Angeles"];
    private readonly ConcurrentDictionary<string, DateTimeOffset> _spentUntil = new(StringComparer.Ordinal);

    /// <summary>When the quota that stops this account's calls resets, or null when none does.</summary>
    public DateTimeOffset? SpentUntil(string accountId)
    {
        var now = time.GetUtcNow();
        DateTimeOffset? until = null;
        foreach (var key in new[] { Project, accountId })
        {
            if (_spentUntil.TryGetValue(key, out var at) && at > now && (until is null || at > until))
            {
                until = at;
            }
        }

        return until;
    }

    /// <summary>Records a spent quota (<paramref name="reason"/> is Google's) and returns when it resets.</summary>
    public DateTimeOffset Spend(string accountId, string? reason)
    {
        var until = NextReset(time.GetUtcNow());
        _spentUntil[reason == "dailyLimitExceeded" ? Project : accountId] = until;
        return until;
    }

    /// <summary>The next midnight in Pacific Time after <paramref name="now"/> (daylight saving included).</summary>
    public static DateTimeOffset NextReset(DateTimeOffset now)
    {
        var today = Instant.FromDateTimeOffset(now).InZone(Pacific).Date;
        return Pacific.AtStartOfDay(today.PlusDays(1)).ToDateTimeOffset().ToUniversalTime();
    }
}
