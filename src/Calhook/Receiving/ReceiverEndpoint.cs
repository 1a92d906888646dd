using System.Globalization;
using Calhook.Channels;
using Calhook.Hosting;
using Calhook.Sync;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Calhook.Receiving;

/// <summary>
/// <c>POST /google/notifications</c>: Google's push pings. Verifies the channel (id, constant-time token, resource id)
/// against the in-memory channel map, acknowledges at once and hands the watch to the sync scheduler. It never calls
/// Google (invariant 4, docs/architecture.md), and awaits the store only when instances share it and the map does not
/// know the channel (another instance opened it): one read then resolves it, and the map keeps it (an id the store
/// does not know either is remembered as unknown for a few seconds, so a flood naming it costs no read per ping). The sync it asks
/// for runs here under the calendar's lease, or folds into the follow-up of the instance syncing it right now.
/// </summary>
internal static class ReceiverEndpoint
{
    public const string Path = "/google/notifications";

    public static IEndpointRouteBuilder MapReceiver(this IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        var receiver = new Receiver(
            services.GetRequiredService<ChannelMap>(),
            new ChannelLookups(services.GetRequiredService<ChannelSupervisor>().ResolveAsync, services.GetRequiredService<TimeProvider>()),
            services.GetRequiredService<UnknownChannelStopper>(),
            services.GetRequiredService<Coordination.PendingPings>(),
            services.GetRequiredService<NotificationRecorder>(),
            services.GetRequiredService<PingClock>(),
            services.GetRequiredService<ReceiverMetrics>(),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<IOptions<ReceivingOptions>>().Value,
            services.GetRequiredService<Coordination.StoreKind>().Shared);
        endpoints.MapPost(Path, (Delegate)receiver.Receive).DisableAntiforgery();
        endpoints.MapVerificationFiles(services.GetRequiredService<IOptions<ReceivingOptions>>().Value);
        return endpoints;
    }

    private sealed class Receiver(
        ChannelMap map, ChannelLookups lookups, UnknownChannelStopper unknownChannels, Coordination.PendingPings sync, NotificationRecorder recorder,
        PingClock pings, ReceiverMetrics metrics, TimeProvider time, ReceivingOptions options, bool sharedStore)
    {
        public Task<IResult> Receive(HttpContext context)
        {
            var request = context.Request;
            if (request.ContentLength > options.MaxBodyBytes)
            {
                return Task.FromResult(TooLarge(context));
            }

            // A body without a length (chunked) is measured by reading it, never more than the limit plus one byte.
            return request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: true }
                ? ReceiveUnframedAsync(context)
                : Verify(context);
        }

        private async Task<IResult> ReceiveUnframedAsync(HttpContext context)
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = options.MaxBodyBytes;
            }

            var buffer = new byte[Math.Min(options.MaxBodyBytes + 1, 8192)];
            long total = 0;
            try
            {
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted)) > 0)
                {
                    total += read;
                    if (total > options.MaxBodyBytes)
                    {
                        return TooLarge(context);
                    }
                }
            }
            catch (BadHttpRequestException tooLarge) when (tooLarge.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return TooLarge(context);
            }

            return await Verify(context);
        }

        private IResult TooLarge(HttpContext context)
        {
            metrics.Count(ReceiverMetrics.Outcomes.TooLarge);
            // The rest of the body is not read: the connection is closed instead of drained.
            context.Response.Headers.Connection = "close";
            return Problem(StatusCodes.Status413PayloadTooLarge, "Notification too large", "Google's notifications carry no body.");
        }

        private Task<IResult> Verify(HttpContext context)
        {
            var headers = context.Request.Headers;
            string? channelId = headers["X-Goog-Channel-ID"];
            string? resourceId = headers["X-Goog-Resource-ID"];
            string? state = headers["X-Goog-Resource-State"];
            string? number = headers["X-Goog-Message-Number"];
            if (string.IsNullOrEmpty(channelId) || channelId.Length > 64 || string.IsNullOrEmpty(resourceId) || resourceId.Length > 256
                || state is not ("sync" or "exists" or "not_exists")
                || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                metrics.Count(ReceiverMetrics.Outcomes.Malformed);
                return Task.FromResult(Problem(StatusCodes.Status400BadRequest, "Malformed notification",
                    "X-Goog-Channel-ID, X-Goog-Resource-ID, X-Goog-Resource-State (sync, exists or not_exists) and a numeric X-Goog-Message-Number are required."));
            }

            if (map.TryGet(channelId, out var channel))
            {
                return Task.FromResult(Accept(context, channel, resourceId, state));
            }

            return sharedStore ? ResolveAsync(context, channelId, resourceId, state) : Task.FromResult(Unknown(channelId, resourceId));
        }

        /// <summary>
        /// A channel another instance opened: read once from the store, then known to the map. An id the store does not
        /// know is answered as unknown without another read for a few seconds (<see cref="ChannelLookups"/>).
        /// </summary>
        private async Task<IResult> ResolveAsync(HttpContext context, string channelId, string resourceId, string state) =>
            await lookups.ResolveAsync(channelId).WaitAsync(context.RequestAborted) is { } channel
                ? Accept(context, channel, resourceId, state)
                : Unknown(channelId, resourceId);

        private IResult Unknown(string channelId, string resourceId)
        {
            // 2xx so Google does not retry; stopped in the background when one of our accounts can (invariant 6, docs/architecture.md).
            metrics.Count(ReceiverMetrics.Outcomes.Unknown);
            unknownChannels.Enqueue(channelId, resourceId);
            return Results.Ok();
        }

        private IResult Accept(HttpContext context, KnownChannel channel, string resourceId, string state)
        {
            var headers = context.Request.Headers;

            // The resource id is unknown only until the watch call returns (the early `sync` ping): the token decides then.
            if (!ChannelTokens.Matches(channel.Token, headers["X-Goog-Channel-Token"])
                || (channel.ResourceId is not null && !string.Equals(channel.ResourceId, resourceId, StringComparison.Ordinal)))
            {
                metrics.Count(ReceiverMetrics.Outcomes.Forged);
                return Problem(StatusCodes.Status401Unauthorized, "Invalid channel token", "The channel token or resource id does not match the channel.");
            }

            metrics.CountAccepted(state);
            recorder.Record(channel.WatchId, time.GetUtcNow());
            // `sync` only announces a new channel; the supervisor already asked for the baseline sync. Duplicated and
            // out-of-order message numbers need no care: every ping just asks for "a sync soon", and those fold.
            if (state != "sync")
            {
                pings.Received(channel.WatchId, state);
                // On a shared store the request is written to the store before the sync is asked for (off this path).
                sync.Record(channel.WatchId);
            }

            return Results.Ok();
        }

        private static IResult Problem(int status, string title, string detail) => Results.Problem(detail, statusCode: status, title: title);
    }
}
