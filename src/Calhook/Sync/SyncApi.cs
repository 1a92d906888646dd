using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Sync;

internal static class SyncApi
{
    /// <summary><c>POST /v1/watches/{id}/sync</c>: asks for a sync of the watch now (202), or 404 for an unknown watch.</summary>
    public static IEndpointRouteBuilder MapSync(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/watches/{id}/sync", ForceSyncAsync).RequireCalhookApiKey();
        return endpoints;
    }

    private static async Task<Results<Accepted, ProblemHttpResult>> ForceSyncAsync(
        string id, ICalhookStore store, SyncScheduler scheduler, CancellationToken cancellationToken)
    {
        if (await store.GetWatchAsync(id, cancellationToken) is not { Status: not WatchStatus.Stopped })
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Watch not found", detail: $"No active watch '{id}'.");
        }

        scheduler.RequestSync(id);
        return TypedResults.Accepted((string?)null);
    }
}
