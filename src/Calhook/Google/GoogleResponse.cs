namespace Calhook.Google;

/// <summary>What a caller can do about a failed Google call.</summary>
internal enum GoogleErrorKind
{
    /// <summary>410: the sync token is no longer valid; do a full sync.</summary>
    FullSyncRequired,

    /// <summary>401 after one token refresh, or a revoked grant: the account needs re-authorisation.</summary>
    NeedsReauth,

    /// <summary>404: the calendar (or channel) does not exist or is not visible.</summary>
    NotFound,

    /// <summary>403/429 rate limits (<c>rateLimitExceeded</c>, <c>userRateLimitExceeded</c>) that outlived the short retries.</summary>
    RateLimited,

    /// <summary>
    /// 403 <c>dailyLimitExceeded</c> or <c>quotaExceeded</c>: a quota that resets only later (<see cref="GoogleError.RetryAt"/>).
    /// Never retried before then.
    /// </summary>
    QuotaExhausted,

    /// <summary>5xx or network failure that outlived the retries.</summary>
    Transient,

    /// <summary>Anything else (400, 403 forbidden…): a bug or a configuration problem.</summary>
    Other,
}

/// <summary>
/// Google's error, reduced to what matters: the kind, the HTTP status, Google's reason and message, and for a spent
/// quota when it resets.
/// </summary>
internal sealed record GoogleError(GoogleErrorKind Kind, int Status, string? Reason, string Message, DateTimeOffset? RetryAt = null);

/// <summary>The outcome of a Google call: a value or an error.</summary>
internal readonly record struct GoogleResponse<T>(T? Value, GoogleError? Error)
    where T : class
{
    public bool IsSuccess => Error is null;

    public static GoogleResponse<T> Ok(T value) => new(value, null);

    public static GoogleResponse<T> Fail(GoogleError error) => new(null, error);
}
