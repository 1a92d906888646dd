using Calhook.Hosting;

namespace Calhook.Google;

/// <summary>Counts every attempt sent to Google (retries included) by status class, as <c>calhook_google_requests_total</c>.</summary>
internal sealed class GoogleMetricsHandler(CalhookMetrics metrics) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            metrics.GoogleRequest((int)response.StatusCode);
            return response;
        }
        catch (HttpRequestException)
        {
            metrics.GoogleRequest(null);
            throw;
        }
    }
}
