using System.Net;
using System.Text.Json;

namespace Calhook.Google;

/// <summary>Maps a failed HTTP answer (status + Google's error JSON) to what a caller can act on.</summary>
internal static class GoogleErrors
{
    // Short-window limits: retried after a short backoff.
    private static readonly HashSet<string> RateLimitReasons = new(StringComparer.Ordinal) { "rateLimitExceeded", "userRateLimitExceeded" };

    // Quotas that reset only later (the day's quota, the Calendar usage limits): a retry before then is refused too.
    private static readonly HashSet<string> QuotaReasons = new(StringComparer.Ordinal) { "dailyLimitExceeded", "quotaExceeded" };

    /// <summary>Parses Google's error body; tolerates a missing or non-JSON body (proxies, HTML pages).</summary>
    public static ErrorWire? Parse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(body, GoogleJsonContext.Default.ErrorEnvelopeWire)?.Error;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static GoogleError Map(HttpStatusCode status, string? body)
    {
        var error = Parse(body);
        var code = (int)status;
        var reason = error?.Errors?.FirstOrDefault(e => e.Reason is not null)?.Reason;
        var message = error?.Message ?? error?.Errors?.FirstOrDefault()?.Message ?? status.ToString();
        return new GoogleError(Classify(code, reason), code, reason, message);
    }

    /// <summary>
    /// True when an incremental list's error means its sync token cannot be used: 410 (expired), or 400 <c>invalid</c>
    /// (Google's answer to a token it cannot read; an incremental list differs from the full list only by its tokens).
    /// Either way the answer is a full list diffed against the snapshots.
    /// </summary>
    public static bool RefusesSyncToken(GoogleError error) =>
        error.Kind == GoogleErrorKind.FullSyncRequired || (error.Status == 400 && error.Reason == "invalid");

    /// <summary>True when a 403 or 429 is a short-window rate limit (worth a short retry), not a spent quota or a permission problem.</summary>
    public static bool IsRateLimit(int status, string? reason) =>
        status == 429 || (status == 403 && reason is not null && RateLimitReasons.Contains(reason));

    /// <summary>True when a 403 says a quota is spent until it resets (<c>dailyLimitExceeded</c>, <c>quotaExceeded</c>).</summary>
    public static bool IsQuotaExhausted(int status, string? reason) => status == 403 && reason is not null && QuotaReasons.Contains(reason);

    private static GoogleErrorKind Classify(int status, string? reason) => status switch
    {
        410 => GoogleErrorKind.FullSyncRequired,
        401 => GoogleErrorKind.NeedsReauth,
        404 => GoogleErrorKind.NotFound,
        _ when IsQuotaExhausted(status, reason) => GoogleErrorKind.QuotaExhausted,
        _ when IsRateLimit(status, reason) => GoogleErrorKind.RateLimited,
        >= 500 => GoogleErrorKind.Transient,
        408 => GoogleErrorKind.Transient,
        _ => GoogleErrorKind.Other,
    };
}
