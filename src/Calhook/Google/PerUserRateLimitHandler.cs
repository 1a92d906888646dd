using System.Threading.RateLimiting;

namespace Calhook.Google;

/// <summary>
/// Spaces the requests of each Calhook account to <see cref="GoogleClientOptions.RequestsPerMinutePerUser"/>.
/// It sits inside the retry handler, so retries spend the same budget as first attempts. Requests queue for a
/// permit instead of failing: slower, never refused.
/// </summary>
internal sealed class PerUserRateLimitHandler : DelegatingHandler
{
    /// <summary>The request option naming the account a request is made for.</summary>
    public static readonly HttpRequestOptionsKey<string> AccountKey = new("calhook.account");

    private readonly PartitionedRateLimiter<string> _limiter;

    public PerUserRateLimitHandler(PartitionedRateLimiter<string> limiter) => _limiter = limiter;

    public static PartitionedRateLimiter<string> CreateLimiter(GoogleClientOptions options)
    {
        var perMinute = Math.Max(1, options.RequestsPerMinutePerUser);
        // A bucket refilled every second keeps bursts small (a tenth of the minute's budget at most).
        var perSecond = Math.Max(1, perMinute / 60);
        return PartitionedRateLimiter.Create<string, string>(account => RateLimitPartition.GetTokenBucketLimiter(
            account,
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = Math.Max(perSecond, perMinute / 10),
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            }));
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var account = request.Options.TryGetValue(AccountKey, out var value) ? value : "";
        using var lease = await _limiter.AcquireAsync(account, 1, cancellationToken);
        return await base.SendAsync(request, cancellationToken);
    }
}
