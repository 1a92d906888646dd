using System.Globalization;
using System.Net.Mime;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Calhook.Changes;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.Extensions;
using CloudNative.CloudEvents.SystemTextJson;
using StandardWebhooks;

namespace Calhook.Delivery;

/// <summary>
/// One webhook as sent: the CloudEvents 1.0 structured JSON body of a change and its Standard Webhooks headers.
/// <see cref="Id"/> is the change id on every attempt; <see cref="Signature"/> holds one <c>v1,…</c> signature per
/// secret, space-separated (two during a rotation's overlap).
/// </summary>
internal sealed record WebhookMessage(string Id, DateTimeOffset Timestamp, string Body, string Signature)
{
    /// <summary>The <c>Content-Type</c> of a structured-mode CloudEvent in JSON.</summary>
    public const string ContentType = "application/cloudevents+json; charset=utf-8";

    private static readonly JsonEventFormatter Formatter = new(
        new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping },
        new JsonDocumentOptions());

    /// <summary>Builds and signs the webhook of <paramref name="change"/> at <paramref name="timestamp"/> with every secret given.</summary>
    public static WebhookMessage Create(Change change, IReadOnlyList<string> secrets, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(change);
        return Create(ChangeWire.From(change), secrets, timestamp);
    }

    /// <summary>The same from the change as the feed shows it (what <c>calhook listen</c> reads).</summary>
    public static WebhookMessage Create(ChangeWire change, IReadOnlyList<string> secrets, DateTimeOffset timestamp)
    {
        ArgumentNullException.ThrowIfNull(change);
        ArgumentNullException.ThrowIfNull(secrets);
        var body = Envelope(change);
        return new WebhookMessage(change.Id, timestamp, body, WebhookSecrets.Sign(secrets, change.Id, timestamp, body));
    }

    /// <summary>
    /// The CloudEvent: <c>id</c> = change id, <c>source</c> = <c>/calendars/{calendarId}</c> (not percent-encoded),
    /// <c>type</c> = <c>calhook.</c> + change type, <c>subject</c> = event id, <c>sequence</c> as a decimal string,
    /// <c>time</c> = when the change was detected, <c>data</c> = the change exactly as the feed shows it.
    /// </summary>
    public static string Envelope(Change change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return Envelope(ChangeWire.From(change));
    }

    private static string Envelope(ChangeWire change)
    {
        var data = JsonSerializer.SerializeToElement(change, ChangeJsonContext.Wire.ChangeWire);
        var cloudEvent = new CloudEvent(CloudEventsSpecVersion.V1_0)
        {
            Id = change.Id,
            Source = new Uri("/calendars/" + change.CalendarId, UriKind.Relative),
            Type = "calhook." + change.Type,
            Subject = change.EventId,
            Time = new DateTimeOffset(DateTime.SpecifyKind(change.DetectedAt, DateTimeKind.Utc)),
            DataContentType = MediaTypeNames.Application.Json,
            Data = data,
        };
        // The sequence extension as a plain decimal string (SetSequence only takes an int and adds sequencetype).
        cloudEvent[Sequence.SequenceAttribute] = change.Sequence.ToString(CultureInfo.InvariantCulture);
        var bytes = Formatter.EncodeStructuredModeMessage(cloudEvent, out _);
        return Encoding.UTF8.GetString(bytes.Span);
    }
}

/// <summary>Standard Webhooks secrets: <c>whsec_</c> + base64 of 32 random bytes. Never logged.</summary>
internal static class WebhookSecrets
{
    public const string Prefix = "whsec_";

    public static string Generate() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// Space-separated <c>v1,…</c> signatures of <c>{id}.{timestamp}.{body}</c>, one per secret, made by the
    /// <c>StandardWebhooks</c> library.
    /// </summary>
    public static string Sign(IReadOnlyList<string> secrets, string id, DateTimeOffset timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        if (secrets.Count == 0)
        {
            throw new ArgumentException("At least one secret is needed to sign a webhook.", nameof(secrets));
        }

        return string.Join(' ', secrets.Select(secret => new StandardWebhook(Key(secret)).Sign(id, timestamp, body)));
    }

    private static byte[] Key(string secret) =>
        Convert.FromBase64String(secret.StartsWith(Prefix, StringComparison.Ordinal) ? secret[Prefix.Length..] : secret);
}
