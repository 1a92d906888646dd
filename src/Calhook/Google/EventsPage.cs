using System.Text.Json;

namespace Calhook.Google;

/// <summary>
/// A page of events.list: the items as Google's raw JSON, and the page or sync token. A page read from Google owns
/// the one <see cref="JsonDocument"/> its body was parsed into (one parse per page, the items are elements of it):
/// <see cref="Dispose"/> returns its buffers, after which the items must not be read. Not disposing is safe (the
/// buffers are then simply collected); an element that must outlive the page is <see cref="JsonElement.Clone"/>d.
/// </summary>
internal sealed class EventsPage : IDisposable
{
    private readonly JsonDocument? _document;

    public EventsPage(IReadOnlyList<JsonElement> items, string? nextPageToken, string? nextSyncToken)
    {
        Items = items;
        NextPageToken = nextPageToken;
        NextSyncToken = nextSyncToken;
    }

    private EventsPage(JsonDocument document, IReadOnlyList<JsonElement> items, string? nextPageToken, string? nextSyncToken)
        : this(items, nextPageToken, nextSyncToken) => _document = document;

    public IReadOnlyList<JsonElement> Items { get; }

    public string? NextPageToken { get; }

    public string? NextSyncToken { get; }

    /// <summary>Parses an <c>Events</c> body (<c>{"items":[…],"nextPageToken"|"nextSyncToken":…}</c>) once; null when it is not an object.</summary>
    public static async Task<EventsPage?> ReadAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken);
        await using (stream.ConfigureAwait(false))
        {
            var document = await JsonDocument.ParseAsync(stream, default, cancellationToken);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                return null;
            }

            var items = new List<JsonElement>();
            if (root.TryGetProperty("items"u8, out var array) && array.ValueKind == JsonValueKind.Array)
            {
                items.Capacity = array.GetArrayLength();
                foreach (var item in array.EnumerateArray())
                {
                    items.Add(item);
                }
            }

            return new EventsPage(document, items, Token(root, "nextPageToken"u8), Token(root, "nextSyncToken"u8));
        }
    }

    public void Dispose() => _document?.Dispose();

    private static string? Token(JsonElement root, ReadOnlySpan<byte> name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
