using System.Globalization;
using System.Net;
using System.Text.Json.Serialization;
using Calhook.Accounts;
using Calhook.Changes;
using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Calhook.Delivery;

/// <summary>
/// <c>/v1/subscriptions</c>: webhook subscribers, their secret rotation, re-enabling, replay and attempt log.
/// Errors are problem+json naming the field (<c>field</c> extension).
/// </summary>
internal static class SubscriptionsApi
{
    public const int DefaultAttemptsLimit = 100;
    public const int MaxAttemptsLimit = 1000;

    /// <summary>The change types a subscription may filter on.</summary>
    public static readonly IReadOnlySet<string> KnownTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        ChangeTypes.Created, ChangeTypes.Updated, ChangeTypes.Deleted, "calendar.added", "calendar.updated", "calendar.removed",
    };

    public static IEndpointRouteBuilder MapSubscriptions(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/subscriptions").RequireCalhookApiKey();
        group.MapPost("", CreateAsync);
        group.MapGet("", ListAsync);
        group.MapGet("/{id}", GetAsync);
        group.MapDelete("/{id}", DeleteAsync);
        group.MapPost("/{id}/rotate-secret", RotateAsync);
        group.MapPost("/{id}/enable", EnableAsync);
        group.MapPost("/{id}/replay", ReplayAsync);
        group.MapGet("/{id}/deliveries", AttemptsAsync);
        return endpoints;
    }

    private static async Task<Results<Created<SubscriptionCreated>, ProblemHttpResult>> CreateAsync(
        CreateSubscriptionRequest request, ICalhookStore store, SecretProtector protector, DeliverySender sender,
        IOptions<DeliveryOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (Validate(request, options.Value.AllowPrivateNetworks) is { } problem)
        {
            return problem;
        }

        var secret = WebhookSecrets.Generate();
        var now = time.GetUtcNow();
        var record = new SubscriptionRecord(
            "sub_" + Guid.CreateVersion7(now).ToString("N"), request.Url!, Distinct(request.Types), Distinct(request.CalendarIds),
            Distinct(request.IgnorePaths), protector.ProtectWebhookSecret(secret), null, null, SubscriptionStatus.Active, 0, now, null, null);
        var stored = await store.AddSubscriptionAsync(record, cancellationToken);
        sender.Wake();
        var state = SubscriptionState.From(stored);
        return TypedResults.Created($"/v1/subscriptions/{stored.Id}",
            new SubscriptionCreated(stored.Id, secret, state.Url, state.Types, state.CalendarIds, state.IgnorePaths, state.Status, state.CreatedAt));
    }

    private static async Task<Ok<SubscriptionList>> ListAsync(ICalhookStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(new SubscriptionList([.. (await store.ListSubscriptionsAsync(cancellationToken)).Select(SubscriptionState.From)]));

    private static async Task<Results<Ok<SubscriptionState>, ProblemHttpResult>> GetAsync(string id, ICalhookStore store, CancellationToken cancellationToken) =>
        await store.GetSubscriptionAsync(id, cancellationToken) is { } subscription
            ? TypedResults.Ok(SubscriptionState.From(subscription))
            : NotFound(id);

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, ICalhookStore store, DeliverySender sender, CancellationToken cancellationToken)
    {
        if (!await store.DeleteSubscriptionAsync(id, cancellationToken))
        {
            return NotFound(id);
        }

        sender.SubscriptionChanged();
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<SecretRotated>, ProblemHttpResult>> RotateAsync(
        string id, ICalhookStore store, SecretProtector protector, DeliverySender sender, IOptions<DeliveryOptions> options, TimeProvider time, CancellationToken cancellationToken)
    {
        var secret = WebhookSecrets.Generate();
        var until = time.GetUtcNow() + options.Value.SecretRotationOverlap;
        if (!await store.RotateSubscriptionSecretAsync(id, protector.ProtectWebhookSecret(secret), until, cancellationToken))
        {
            return NotFound(id);
        }

        sender.SubscriptionChanged();
        return TypedResults.Ok(new SecretRotated(id, secret, until));
    }

    private static async Task<Results<Ok<SubscriptionState>, ProblemHttpResult>> EnableAsync(
        string id, ICalhookStore store, DeliverySender sender, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!await store.EnableSubscriptionAsync(id, time.GetUtcNow(), cancellationToken))
        {
            return NotFound(id);
        }

        sender.SubscriptionChanged();
        return TypedResults.Ok(SubscriptionState.From((await store.GetSubscriptionAsync(id, cancellationToken))!));
    }

    /// <summary>Requeues from <c>after</c> (a sequence) or <c>since</c> (a time), as <see cref="SubscriptionReplay"/> says.</summary>
    private static async Task<Results<Ok<ReplayScheduled>, ProblemHttpResult>> ReplayAsync(
        string id, ReplayRequest request, ICalhookStore store, DeliverySender sender, TimeProvider time, CancellationToken cancellationToken)
    {
        if ((request.After is null) == (request.Since is null))
        {
            return Invalid("after", "Give either 'after' (a sequence) or 'since' (a time), not both and not neither.");
        }

        if (request.After < 0)
        {
            return Invalid("after", "'after' must be a sequence (0 or more).");
        }

        if (await SubscriptionReplay.ScheduleAsync(store, sender, id, request.After, request.Since, time.GetUtcNow(), cancellationToken) is not { } count)
        {
            return NotFound(id);
        }

        var replayed = await store.GetSubscriptionAsync(id, cancellationToken);
        return TypedResults.Ok(new ReplayScheduled(count, ReplayState.From(replayed?.Replay)));
    }

    private static async Task<Results<Ok<AttemptPage>, ProblemHttpResult>> AttemptsAsync(
        string id, string? after, string? limit, ICalhookStore store, CancellationToken cancellationToken)
    {
        long afterId = 0;
        if (after is not null && !long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out afterId))
        {
            return Invalid("after", "'after' must be the 'next' cursor of an earlier page.");
        }

        var take = DefaultAttemptsLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take < 1))
        {
            return Invalid("limit", "'limit' must be a whole number, 1 or more.");
        }

        take = Math.Min(take, MaxAttemptsLimit);
        if (await store.GetSubscriptionAsync(id, cancellationToken) is null)
        {
            return NotFound(id);
        }

        var attempts = await store.ListDeliveryAttemptsAsync(id, afterId, take + 1, cancellationToken);
        var page = attempts.Take(take).Select(AttemptState.From).ToList();
        var next = page.Count > 0 ? page[^1].Id : afterId;
        return TypedResults.Ok(new AttemptPage(page, next.ToString(CultureInfo.InvariantCulture), attempts.Count > take));
    }

    private static ProblemHttpResult? Validate(CreateSubscriptionRequest request, bool allowPrivateNetworks)
    {
        if (string.IsNullOrWhiteSpace(request.Url))
        {
            return Invalid("url", "'url' is required: the absolute http(s) URL webhooks are POSTed to.");
        }

        if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            return Invalid("url", $"'url' must be an absolute http or https URL (got '{request.Url}').");
        }

        // The real guard runs at connect time on the resolved address; this only refuses what is plainly private now.
        var plainlyPrivate = url.IsLoopback || (IPAddress.TryParse(url.IdnHost, out var literal) && AddressGuard.IsPrivate(literal));
        if (!allowPrivateNetworks && plainlyPrivate)
        {
            return Invalid("url", $"'url' points at a loopback or private address ({url.Host}); set Calhook:Delivery:AllowPrivateNetworks to allow it.");
        }

        if (request.Types?.Any(type => type is null || !KnownTypes.Contains(type)) == true)
        {
            return Invalid("types", $"'types' may hold only {string.Join(", ", KnownTypes.Order(StringComparer.Ordinal))}.");
        }

        if (request.CalendarIds?.Any(string.IsNullOrWhiteSpace) == true)
        {
            return Invalid("calendarIds", "'calendarIds' must not hold empty ids.");
        }

        foreach (var pattern in request.IgnorePaths ?? [])
        {
            if (IgnorePaths.Problem(pattern) is { } rule)
            {
                return Invalid("ignorePaths", $"'ignorePaths': {rule}.");
            }
        }

        return null;
    }

    private static List<string>? Distinct(IReadOnlyList<string?>? values) =>
        values is null ? null : [.. values.OfType<string>().Distinct(StringComparer.Ordinal)];

    private static ProblemHttpResult Invalid(string field, string detail) => TypedResults.Problem(
        statusCode: StatusCodes.Status400BadRequest,
        title: $"Invalid field '{field}'",
        detail: detail,
        extensions: new Dictionary<string, object?> { ["field"] = field });

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem($"There is no subscription '{id}'.", statusCode: StatusCodes.Status404NotFound, title: "Subscription not found");
}

internal sealed record CreateSubscriptionRequest(string? Url, IReadOnlyList<string?>? Types, IReadOnlyList<string?>? CalendarIds, IReadOnlyList<string?>? IgnorePaths);

internal sealed record ReplayRequest(long? After, DateTimeOffset? Since);

/// <summary>The answer to a creation: the subscription and its secret, shown this once.</summary>
internal sealed record SubscriptionCreated(
    string Id, string Secret, string Url, IReadOnlyList<string>? Types, IReadOnlyList<string>? CalendarIds, IReadOnlyList<string>? IgnorePaths,
    string Status, DateTimeOffset CreatedAt);

/// <summary>A subscription as the API shows it (never its secret), with its latest replay's progress when it had one.</summary>
internal sealed record SubscriptionState(
    string Id, string Url, IReadOnlyList<string>? Types, IReadOnlyList<string>? CalendarIds, IReadOnlyList<string>? IgnorePaths,
    string Status, DateTimeOffset CreatedAt, DateTimeOffset? LastSuccessAt, string? LastError, long Backlog,
    DateTimeOffset? PreviousSecretExpiresAt, ReplayState? Replay = null)
{
    public static SubscriptionState From(SubscriptionRecord s) => new(
        s.Id, s.Url, s.Types, s.CalendarIds, s.IgnorePaths, StatusName(s.Status), s.CreatedAt, s.LastSuccessAt, s.LastError, s.Backlog,
        s.PreviousSecretExpiresAt, ReplayState.From(s.Replay));

    public static string StatusName(SubscriptionStatus status) => status switch
    {
        SubscriptionStatus.Active => "active",
        SubscriptionStatus.Failing => "failing",
        _ => "disabled",
    };
}

internal sealed record SubscriptionList(IReadOnlyList<SubscriptionState> Items);

internal sealed record SecretRotated(string Id, string Secret, DateTimeOffset PreviousSecretExpiresAt);

/// <summary>The answer to a replay: how many deliveries were queued again, and the replay's progress (as the subscription shows it).</summary>
internal sealed record ReplayScheduled(int Scheduled, ReplayState? Replay);

/// <summary>
/// A subscription's latest replay: the changes after <c>after</c> up to <c>through</c>, <c>total</c> queued again at
/// <c>requestedAt</c>; so far <c>delivered</c>, <c>failed</c> (given up on) and <c>remaining</c> (still pending);
/// <c>done</c> once none remains.
/// </summary>
internal sealed record ReplayState(long After, long Through, int Total, long Delivered, long Failed, long Remaining, DateTimeOffset RequestedAt, bool Done)
{
    public static ReplayState? From(ReplayProgress? replay) => replay is null
        ? null
        : new(replay.After, replay.Through, replay.Total, replay.Delivered, replay.Failed, replay.Remaining, replay.RequestedAt, replay.Remaining == 0);
}

/// <summary>One attempt of the attempt log.</summary>
internal sealed record AttemptState(
    long Id, DateTimeOffset At, string ChangeId, long Sequence, int Attempt, int? StatusCode, double LatencyMs, string? Error, string Outcome)
{
    public static AttemptState From(DeliveryAttemptRecord a) => new(
        a.Id, a.AttemptedAt, a.ChangeId, a.Sequence, a.Attempt, a.StatusCode, Math.Round(a.LatencyMs, 3), a.Error, DeliveryMetrics.OutcomeName(a.Verdict));
}

/// <summary>A page of attempts; <c>next</c> is the cursor for <c>?after=</c>.</summary>
internal sealed record AttemptPage(IReadOnlyList<AttemptState> Items, string Next, bool HasMore);

[JsonSerializable(typeof(CreateSubscriptionRequest))]
[JsonSerializable(typeof(ReplayRequest))]
[JsonSerializable(typeof(SubscriptionCreated))]
[JsonSerializable(typeof(SubscriptionState))]
[JsonSerializable(typeof(SubscriptionList))]
[JsonSerializable(typeof(SecretRotated))]
[JsonSerializable(typeof(ReplayScheduled))]
[JsonSerializable(typeof(AttemptPage))]
internal sealed partial class SubscriptionsJsonContext : JsonSerializerContext;
