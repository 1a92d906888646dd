using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Calhook.Changes;

namespace Calhook.Storage.Sqlite;

/// <summary>
/// How values are written as SQLite text. Times are ISO-8601 UTC with 7 fractional digits: they round-trip to the
/// tick and sort as text in time order.
/// </summary>
internal static class StoreText
{
    /// <summary>The arguments every lease call checks, on both stores.</summary>
    public static void CheckLease(string name, string holder, TimeSpan timeToLive)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(holder);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeToLive, TimeSpan.Zero);
    }

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    /// <summary>
    /// How exactly a subscription's last success is kept: a success within this time of the recorded one does not
    /// rewrite the subscription's row (at hundreds of deliveries a second, every attempt would otherwise wait for the
    /// row that the previous one locked).
    /// </summary>
    public static readonly TimeSpan LastSuccessResolution = TimeSpan.FromSeconds(1);

    /// <summary>A budget window's counts as stored: decimal numbers separated by commas.</summary>
    public static string Counts(IReadOnlyList<long> counts) => string.Join(',', counts.Select(c => c.ToString(CultureInfo.InvariantCulture)));

    public static IReadOnlyList<long> ParseCounts(string text) =>
        text.Length == 0 ? [] : text.Split(',').Select(c => long.Parse(c, CultureInfo.InvariantCulture)).ToArray();

    public static string Time(DateTimeOffset value) =>
        value.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static object TimeOrNull(DateTimeOffset? value) => value is { } v ? Time(v) : DBNull.Value;

    public static DateTimeOffset ParseTime(string text) =>
        new(DateTime.ParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), TimeSpan.Zero);

    public static string Kind(AccountKind kind) => kind switch
    {
        AccountKind.OAuth => "oauth",
        AccountKind.ServiceAccount => "service_account",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown account kind."),
    };

    public static AccountKind ParseKind(string text) => text switch
    {
        "oauth" => AccountKind.OAuth,
        "service_account" => AccountKind.ServiceAccount,
        _ => throw new InvalidDataException($"Unknown account kind '{text}' in the store."),
    };

    public static string Status(AccountStatus status) => status switch
    {
        AccountStatus.Active => "active",
        AccountStatus.NeedsReauth => "needs_reauth",
        AccountStatus.Removed => "removed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown account status."),
    };

    public static AccountStatus ParseAccountStatus(string text) => text switch
    {
        "active" => AccountStatus.Active,
        "needs_reauth" => AccountStatus.NeedsReauth,
        "removed" => AccountStatus.Removed,
        _ => throw new InvalidDataException($"Unknown account status '{text}' in the store."),
    };

    /// <summary>The API's spelling: <c>starting</c>, <c>active</c>, <c>failing</c>, <c>needs_reauth</c>, <c>stopped</c>.</summary>
    public static string Status(WatchStatus status) => status switch
    {
        WatchStatus.Starting => "starting",
        WatchStatus.Active => "active",
        WatchStatus.Failing => "failing",
        WatchStatus.NeedsReauth => "needs_reauth",
        WatchStatus.Stopped => "stopped",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown watch status."),
    };

    public static WatchStatus ParseWatchStatus(string text) => text switch
    {
        "starting" => WatchStatus.Starting,
        "active" => WatchStatus.Active,
        "failing" => WatchStatus.Failing,
        "needs_reauth" => WatchStatus.NeedsReauth,
        "stopped" => WatchStatus.Stopped,
        _ => throw new InvalidDataException($"Unknown watch status '{text}' in the store."),
    };

    // Relaxed escaping keeps the values as Google wrote them ("+01:00", not "\u002B01:00"); the text is never HTML.
    private static readonly StoreJsonContext Json = new(new JsonSerializerOptions
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    });

    public static string Diff(IReadOnlyList<FieldChange> diff) =>
        JsonSerializer.Serialize(diff, Json.IReadOnlyListFieldChange);

    public static IReadOnlyList<FieldChange> ParseDiff(string json) =>
        JsonSerializer.Deserialize(json, Json.IReadOnlyListFieldChange) ?? [];

    public static JsonElement? Element(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static object ListJson(IReadOnlyList<string>? values) =>
        values is null ? DBNull.Value : JsonSerializer.Serialize(values, StoreJsonContext.Default.IReadOnlyListString);

    public static IReadOnlyList<string>? ParseList(string? json) =>
        json is null ? null : JsonSerializer.Deserialize(json, StoreJsonContext.Default.IReadOnlyListString);

    public static string SubscriptionStatusText(SubscriptionStatus status) => status switch
    {
        SubscriptionStatus.Active => "active",
        SubscriptionStatus.Failing => "failing",
        SubscriptionStatus.Disabled => "disabled",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown subscription status."),
    };

    public static SubscriptionStatus ParseSubscriptionStatus(string text) => text switch
    {
        "active" => SubscriptionStatus.Active,
        "failing" => SubscriptionStatus.Failing,
        "disabled" => SubscriptionStatus.Disabled,
        _ => throw new InvalidDataException($"Unknown subscription status '{text}' in the store."),
    };

    public static string VerdictText(DeliveryVerdict verdict) => verdict switch
    {
        DeliveryVerdict.Delivered => "delivered",
        DeliveryVerdict.RetryLater => "retry",
        DeliveryVerdict.Failed => "failed",
        DeliveryVerdict.Disabled => "disabled",
        _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict, "Unknown delivery verdict."),
    };

    public static DeliveryVerdict ParseVerdict(string text) => text switch
    {
        "delivered" => DeliveryVerdict.Delivered,
        "retry" => DeliveryVerdict.RetryLater,
        "failed" => DeliveryVerdict.Failed,
        "disabled" => DeliveryVerdict.Disabled,
        _ => throw new InvalidDataException($"Unknown delivery verdict '{text}' in the store."),
    };
}

[JsonSerializable(typeof(IReadOnlyList<FieldChange>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
