using System.Globalization;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Changes;

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

    /// <summary>The <c>Retry-After</c> of a stream refused because the reader cap is reached.</summary>
    public static readonly TimeSpan ReaderCapRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>Kernel send buffer of a stream connection.</summary>
    public const int SendBufferBytes = 128 * 1024;

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
        HttpContext context, ICalhookStore store, ChangeStreamHub hub, TimeProvider time, CancellationToken cancellationToken)
    {
        var (after, filter, problem) = FeedQuery.ParseStream(context.Request);
        if (problem is not null)
        {
            await problem.ExecuteAsync(context);
            return;
        }

        if (!hub.TryConnect())
        {
            context.Response.Headers.RetryAfter = ((int)ReaderCapRetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await TypedResults.Problem(
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Too many stream readers",
                detail: "The change stream has as many readers as Calhook:Stream:MaxReaders allows; retry later, or read GET /v1/changes.")
                .ExecuteAsync(context);
            return;
        }

        var reader = new ChangeStreamHub.Reader(filter!, after);
        var writer = new StallGuard(context, hub, time);
        try
        {
            LimitSendBuffer(context);
            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            await response.Body.FlushAsync(cancellationToken);
            await hub.Ready.WaitAsync(cancellationToken);
            while (true)
            {
                // Catch up from the store until the hub's tail; then take the live changes from the hub until it
                // detaches this reader for being too far behind, and catch up again.
                var changes = await store.ReadChangesAsync(new ChangeQuery(reader.Cursor, CatchUpPage, null, null), cancellationToken);
                foreach (var change in changes)
                {
                    if (reader.Filter.Matches(change))
                    {
                        await writer.WriteAsync(ChangeStreamHub.StreamFrame.From(change).Bytes, cancellationToken);
                    }

                    reader.Cursor = change.Sequence;
                }

                await writer.FlushAsync(cancellationToken);
                if (changes.Count < CatchUpPage)
                {
                    reader.Rejoining();
                    if (hub.TryJoin(reader))
                    {
                        await WriteLiveAsync(writer, reader, time, cancellationToken);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (StalledReaderException)
        {
            // The client stopped reading and was disconnected.
        }
        finally
        {
            hub.Disconnect(reader);
        }
    }

    /// <summary>Changes read from the store per round while a reader catches up.</summary>
    private const int CatchUpPage = 200;

    /// <summary>Sends the live buffer as it fills; returns when the hub detached the reader.</summary>
    private static async Task WriteLiveAsync(StallGuard writer, ChangeStreamHub.Reader reader, TimeProvider time, CancellationToken cancellationToken)
    {
        while (true)
        {
            bool more;
            try
            {
                more = await reader.Buffer.WaitToReadAsync(cancellationToken).AsTask().WaitAsync(KeepAliveInterval, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                await writer.WriteAsync(KeepAlive, cancellationToken);
                await writer.FlushAsync(cancellationToken);
                continue;
            }

            if (!more)
            {
                return;
            }

            // Everything buffered goes out in one flush.
            while (reader.Buffer.TryRead(out var frame))
            {
                reader.Taken(frame);
                await writer.WriteAsync(frame.Bytes, cancellationToken);
            }

            await writer.FlushAsync(cancellationToken);
        }
    }

    private sealed class StalledReaderException() : Exception("The stream reader stopped reading and was disconnected.");

    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    /// <summary>
    /// Writes to a stream response, and disconnects the reader when one write or flush cannot complete within
    /// <see cref="ChangeStreamOptions.StalledReaderTimeout"/> (the client stopped reading and every buffer is full).
    /// </summary>
    private sealed class StallGuard(HttpContext context, ChangeStreamHub hub, TimeProvider time)
    {
        public Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
            GuardAsync(ct => context.Response.Body.WriteAsync(bytes, ct).AsTask(), cancellationToken);

        public Task FlushAsync(CancellationToken cancellationToken) => GuardAsync(context.Response.Body.FlushAsync, cancellationToken);

        private async Task GuardAsync(Func<CancellationToken, Task> io, CancellationToken cancellationToken)
        {
            var pending = io(cancellationToken);
            if (pending.IsCompleted)
            {
                await pending;
                return;
            }

            try
            {
                await pending.WaitAsync(hub.Options.StalledReaderTimeout, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                hub.CountDropped();
                context.Abort();
                throw new StalledReaderException();
            }
        }
    }

    /// <summary>
    /// Caps the kernel's send buffer of a stream connection, so a reader that stops reading holds at most that much
    /// there (the kernel otherwise grows it to megabytes), besides its bounded buffer in the hub.
    /// </summary>
    private static void LimitSendBuffer(HttpContext context)
    {
        if (context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
        {
            socket.SendBufferSize = SendBufferBytes;
        }
    }
}
