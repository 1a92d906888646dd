using Calhook.Coordination;
using Calhook.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Hosting;

/// <summary>Liveness, readiness and metrics. Open to anyone: they reveal no data and probes carry no key.</summary>
internal static class HealthApi
{
    /// <summary>How long readiness waits for the store before calling it unreachable.</summary>
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => TypedResults.Text("ok"));
        endpoints.MapGet("/readyz", ReadyAsync);
        endpoints.MapGet("/metrics", (CalhookMetrics metrics) =>
        {
            using var text = new StringWriter();
            metrics.WritePrometheus(text);
            return TypedResults.Text(text.ToString(), "text/plain; version=0.0.4; charset=utf-8");
        });
        return endpoints;
    }

    private static async Task<IResult> ReadyAsync(ICalhookStore store, StoreKind kind, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StoreTimeout);
        try
        {
            // The cheapest question the store can answer: it reads the end of the change log's index.
            await store.GetLastSequenceAsync(timeout.Token);
            return TypedResults.Text($"ready: the {kind.Name} store answers");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready", detail: $"The {kind.Name} store does not answer.");
        }
    }
}
