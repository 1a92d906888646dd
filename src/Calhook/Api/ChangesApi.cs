using System.Globalization;
using System.Text.Json;
using Calhook.Changes;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace Calhook.Api;

/// <summary>
/// The change feed: <c>GET /v1/changes</c> (cursor pages, optional long poll) and <c>GET /v1/changes/stream</c>
/// (server-sent events). Both read the log after a sequence and wake on <see cref="ChangeNotifier"/>, never by polling.
/// </summary>
internal static class ChangesApi
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
    public const int MaxWaitSeconds = 60;

    /// <summary>How often the stream sends a comment line when nothing happens, so proxies keep it open.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    public static IEndpointRouteBuilder MapChanges(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/changes").RequireCalhookApiKey();
        group.MapGet("", ReadAsync);
        group.MapGet("/stream", StreamAsync);
        return endpoints;
    }

    private static async Task<Results<JsonHttpResult<ChangesPage>, ProblemHttpResult>> ReadAsync(
        HttpRequest request, ICalhookStore store, ChangeNotifier notifier, TimeProvider time, CancellationToken cancellationToken)
    {
        var parsed = FeedQuery.Parse(request.Query);
        if (parsed.Problem is { } problem)
        {
            return problem;
        }

        var (query, wait) = (parsed.Query!, parsed.Wait);
        var deadline = time.GetUtcNow() + wait;
        while (true)
        {
            // Take the signal before reading, so a commit between the read and the wait still wakes us.
            var nextCommit = notifier.NextCommit;
            var changes = await store.ReadChangesAsync(query with { Limit = query.Limit + 1 }, cancellationToken);
            var remaining = deadline - time.GetUtcNow();
            if (changes.Count > 0 || remaining <= TimeSpan.Zero)
            {
                var page = changes.Take(query.Limit).Select(ChangeWire.From).ToList();
                var next = page.Count > 0 ? page[^1].Sequence : query.After;
                return TypedResults.Json(new ChangesPage(page, next, changes.Count > query.Limit), ChangeJsonContext.Wire.ChangesPage);
            }

            try
            {
                await nextCommit.WaitAsync(remaining, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Read once more (a commit may have landed at the deadline), then answer with what there is.
            }
        }
    }

    private static async Task StreamAsync(
        HttpContext context, ICalhookStore store, ChangeNotifier notifier, TimeProvider time, CancellationToken cancellationToken)
    {
        var parsed = FeedQuery.Parse(context.Request.Query);
        if (parsed.Problem is not null || !TryResumePoint(context.Request, parsed.Query, out var after))
        {
            var result = parsed.Problem ?? FeedQuery.Invalid("Last-Event-ID", "must be a sequence (a whole number, 0 or more)");
            await result.ExecuteAsync(context);
            return;
        }

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.Body.FlushAsync(cancellationToken);
        var query = parsed.Query! with { After = after, Limit = MaxLimit };
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var nextCommit = notifier.NextCommit;
                var changes = await store.ReadChangesAsync(query, cancellationToken);
                foreach (var change in changes)
                {
                    var json = JsonSerializer.Serialize(ChangeWire.From(change), ChangeJsonContext.Wire.ChangeWire);
                    await response.WriteAsync($"id: {change.Sequence}\nevent: {change.Type}\ndata: {json}\n\n", cancellationToken);
                    query = query with { After = change.Sequence };
                }

                await response.Body.FlushAsync(cancellationToken);
                if (changes.Count == MaxLimit)
                {
                    continue;
                }

                try
                {
                    await nextCommit.WaitAsync(KeepAliveInterval, time, cancellationToken);
                }
                catch (TimeoutException)
                {
                    await response.WriteAsync(": keep-alive\n\n", cancellationToken);
                    await response.Body.FlushAsync(cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    /// <summary>The stream resumes after <c>Last-Event-ID</c> when the client sends one, else after <c>?after=</c>.</summary>
    private static bool TryResumePoint(HttpRequest request, ChangeQuery? query, out long after)
    {
        after = query?.After ?? 0;
        if (request.Headers.TryGetValue("Last-Event-ID", out var header) && !StringValues.IsNullOrEmpty(header))
        {
            return long.TryParse(header.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out after);
        }

        return true;
    }
}
