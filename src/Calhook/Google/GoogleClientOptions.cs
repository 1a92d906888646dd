namespace Calhook.Google;

/// <summary>How Calhook talks to the Calendar API and Google's OAuth: every setting of section <c>Calhook:Google</c>.</summary>
internal sealed class GoogleClientOptions
{
    public const string SectionName = "Calhook:Google";

    /// <summary>Google's API origin, used when <c>BaseUrl</c> is not set.</summary>
    public const string GoogleApiOrigin = "https://www.googleapis.com";

    /// <summary>Google's OAuth token endpoint, used when <c>BaseUrl</c> is not set.</summary>
    public const string GoogleTokenUrl = "https://oauth2.googleapis.com/token";

    /// <summary>One origin that replaces Google's API host and OAuth endpoints (the emulator). Default: Google.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>The OAuth client id of OAuth accounts. Without it (and with a base URL), a placeholder is used.</summary>
    public string? ClientId { get; set; }

    /// <summary>The OAuth client secret of OAuth accounts; never logged.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>
    /// Requests per minute per Calhook account (Google's "per user"), retries included, in a sliding window. Default
    /// 500: under Google's 600 per user per minute, so a busy account is slowed down here rather than refused there.
    /// </summary>
    public int RequestsPerMinutePerUser { get; set; } = 500;

    /// <summary>
    /// Requests per minute of the whole instance (Google's "per project"), sliding window. Default 9,000: under
    /// Google's 10,000 per project per minute. Several instances sharing one project each need their share.
    /// </summary>
    public int RequestsPerMinute { get; set; } = 9_000;

    /// <summary>
    /// Requests per day of the whole instance, sliding 24-hour window. Default 950,000: under the 1,000,000 a day
    /// that Google's usage page names for a project. The safety net stretches to fit (see docs/operations.md).
    /// </summary>
    public int RequestsPerDay { get; set; } = 950_000;

    /// <summary>Requests per day per account, sliding 24-hour window. Default 0: no limit (Google sets none per user and day).</summary>
    public int RequestsPerDayPerUser { get; set; }

    /// <summary>The four budget windows as the <see cref="RequestBudget"/> reads them.</summary>
    public BudgetLimits BudgetLimits => new(RequestsPerMinute, RequestsPerDay, RequestsPerMinutePerUser, RequestsPerDayPerUser);

    /// <summary>
    /// <c>maxResults</c> of events.list: events per page, 1 to 2500 (Google's maximum). Default 2500: the fewest calls
    /// for a full list. Smaller pages only make sense to exercise paging.
    /// </summary>
    public int EventsPageSize { get; set; } = 2500;

    /// <summary>Retries of a rate-limited (403/429), 5xx or failed-connection call. Default 5; 0 for none.</summary>
    public int MaxRetryAttempts { get; set; } = 5;

    /// <summary>First retry delay; later ones grow exponentially with jitter. Default 1 second.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between two retries (a longer <c>Retry-After</c> is honoured). Default 1 minute.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Timeout of one attempt. Default 30 seconds.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public Uri ApiBaseAddress => new(string.IsNullOrWhiteSpace(BaseUrl) ? GoogleApiOrigin : BaseUrl.TrimEnd('/') + "/");

    public string TokenUrl => string.IsNullOrWhiteSpace(BaseUrl) ? GoogleTokenUrl : BaseUrl.TrimEnd('/') + "/token";

    public string AuthorizationUrl =>
        string.IsNullOrWhiteSpace(BaseUrl) ? "https://accounts.google.com/o/oauth2/v2/auth" : BaseUrl.TrimEnd('/') + "/o/oauth2/v2/auth";
}
