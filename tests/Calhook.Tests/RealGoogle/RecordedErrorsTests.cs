using System.Net;
using Calhook.Google;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.RealGoogle;

/// <summary>Google's recorded error bodies, classified as Google documents them.</summary>
public sealed class RecordedErrorsTests
{
    [Theory]
    [InlineData("error-403-dailyLimitExceeded", 403, "QuotaExhausted")]
    [InlineData("error-403-rateLimitExceeded", 403, "RateLimited")]
    [InlineData("error-400-invalid-value-synctoken", 400, "Other")]
    [InlineData("error-410-fullSyncRequired", 410, "FullSyncRequired")]
    [InlineData("error-404-notFound", 404, "NotFound")]
    [InlineData("error-401-authError", 401, "NeedsReauth")]
    public void A_recorded_error_maps_to_what_the_caller_can_do(string fixture, int status, string kind)
    {
        var error = GoogleErrors.Map((HttpStatusCode)status, Recorded.Body(fixture));
        Assert.Equal(kind, error.Kind.ToString());
    }

    [Fact]
    public void A_spent_daily_quota_is_not_a_short_retry_and_a_rate_limit_is()
    {
        Assert.False(GoogleErrors.IsRateLimit(403, "dailyLimitExceeded"));
        Assert.False(GoogleErrors.IsRateLimit(403, "quotaExceeded"));
        Assert.True(GoogleErrors.IsQuotaExhausted(403, "quotaExceeded"));
        Assert.True(GoogleErrors.IsRateLimit(403, "rateLimitExceeded"));
        Assert.True(GoogleErrors.IsRateLimit(403, "userRateLimitExceeded"));
        Assert.True(GoogleErrors.IsRateLimit(429, null));
    }

    [Fact]
    public void Only_a_410_or_Googles_400_invalid_refuse_a_sync_token()
    {
        Assert.True(GoogleErrors.RefusesSyncToken(GoogleErrors.Map(HttpStatusCode.BadRequest, Recorded.Body("error-400-invalid-value-synctoken"))));
        Assert.True(GoogleErrors.RefusesSyncToken(GoogleErrors.Map(HttpStatusCode.Gone, Recorded.Body("error-410-fullSyncRequired"))));
        Assert.False(GoogleErrors.RefusesSyncToken(GoogleErrors.Map(HttpStatusCode.BadRequest, """{"error":{"code":400,"message":"m","errors":[{"reason":"timeRangeEmpty"}]}}""")));
        Assert.False(GoogleErrors.RefusesSyncToken(GoogleErrors.Map(HttpStatusCode.Forbidden, Recorded.Body("error-403-rateLimitExceeded"))));
    }

    [Theory]
    [InlineData("2026-12-01T10:00:00Z", "2026-12-02T08:00:00Z")] // 02:00 PST: midnight is 08:00 UTC
    [InlineData("2026-12-01T07:59:59Z", "2026-12-01T08:00:00Z")]
    [InlineData("2026-07-01T12:00:00Z", "2026-07-02T07:00:00Z")] // PDT
    [InlineData("2026-03-08T09:00:00Z", "2026-03-09T07:00:00Z")] // 01:00 PST on the day daylight saving starts
    public void Daily_quotas_reset_at_the_next_midnight_Pacific_Time(string now, string reset)
    {
        Assert.Equal(DateTimeOffset.Parse(reset, System.Globalization.CultureInfo.InvariantCulture),
            GoogleQuota.NextReset(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void A_spent_daily_quota_stops_every_account_and_a_spent_usage_limit_only_its_own_until_the_reset()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));
        var quota = new GoogleQuota(time);

        var until = quota.Spend("acc_a", "quotaExceeded");
        Assert.Equal(until, quota.SpentUntil("acc_a"));
        Assert.Null(quota.SpentUntil("acc_b"));

        quota.Spend("acc_b", "dailyLimitExceeded");
        Assert.Equal(until, quota.SpentUntil("acc_c"));

        time.SetUtcNow(until);
        Assert.Null(quota.SpentUntil("acc_a"));
        Assert.Null(quota.SpentUntil("acc_c"));
    }
}
