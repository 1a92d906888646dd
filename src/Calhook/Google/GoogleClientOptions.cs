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
    /// Requests per minute per Calhook account, retries included. Default 500: under Google's 600 per user per
    /// minute, so a busy account is slowed down here rather than refused there.
    /// </summary>
    public int RequestsPerMinutePerUser { get; set; } = 500;

    /// <summary>
    /// <c>maxResults</c> of events.list: events per page, 1 to 2500 (Google's maximum). Default 2500: the fewest calls
    /// for a full list. Smaller pages only make sense to exercise paging.
    /// </summary>
    public int EventsPageSize { get; set; } = 2500;

    /// <summary>Retries of a rate-limited (403/429), 5xx or failed-connection call. Default 5.</summary>
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
