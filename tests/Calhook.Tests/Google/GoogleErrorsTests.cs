using System.Net;
using Calhook.Google;

namespace Calhook.Tests.Google;

public sealed class GoogleErrorsTests
{
    [Theory]
    [InlineData(429, null, "RateLimited")]
    [InlineData(403, "userRateLimitExceeded", "RateLimited")]
    [InlineData(403, "forbidden", "Other")]
    [InlineData(403, "requiredAccessLevel", "Other")]
    [InlineData(503, "backendError", "Transient")]
    [InlineData(500, null, "Transient")]
    [InlineData(400, "channelIdNotUnique", "Other")]
    [InlineData(410, "updatedMinTooLongAgo", "FullSyncRequired")]
    public void Status_and_reason_map_to_what_the_caller_can_do(int status, string? reason, string expected)
    {
        var body = reason is null ? "" : $$$"""{"error":{"code":{{{status}}},"message":"m","errors":[{"domain":"d","reason":"{{{reason}}}","message":"m"}]}}""";
        var error = GoogleErrors.Map((HttpStatusCode)status, body);
        Assert.Equal(expected, error.Kind.ToString());
        Assert.Equal(reason, error.Reason);
    }

    [Theory]
    [InlineData("<html>Bad Gateway</html>")]
    [InlineData("{\"error\":")]
    [InlineData("{}")]
    public void A_body_that_is_not_Google_error_JSON_still_maps_by_status(string body)
    {
        var error = GoogleErrors.Map(HttpStatusCode.BadGateway, body);
        Assert.Equal(GoogleErrorKind.Transient, error.Kind);
        Assert.Equal(502, error.Status);
        Assert.Null(error.Reason);
    }
}
