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
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

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
}

[JsonSerializable(typeof(IReadOnlyList<FieldChange>))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
