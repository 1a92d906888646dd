using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Changes;
using Calhook.Delivery;
using Calhook.TestKit;

namespace Calhook.Tests.Delivery;

public sealed class WebhookMessageTests
{
    private static readonly Change Sample = new()
    {
        Id = "chg_01JD",
        Sequence = 1042,
        Type = ChangeTypes.Updated,
        CalendarId = "en.usa#holiday@group.v.calendar.google.com",
        EventId = "5k2abc",
        WatchId = "wat_1",
        DetectedAt = new DateTimeOffset(2026, 11, 28, 10, 0, 0, 123, TimeSpan.Zero),
        Event = JsonSerializer.SerializeToElement(new { id = "5k2abc", summary = "After" }),
        Previous = JsonSerializer.SerializeToElement(new { id = "5k2abc", summary = "Before" }),
        Diff = [new FieldChange("summary", JsonSerializer.SerializeToElement("Before"), JsonSerializer.SerializeToElement("After"))],
    };

    [Fact]
    public void The_body_is_a_CloudEvents_1_0_structured_event_carrying_the_change()
    {
        var envelope = JsonNode.Parse(WebhookMessage.Envelope(Sample))!;

        Assert.Equal("1.0", (string?)envelope["specversion"]);
        Assert.Equal("chg_01JD", (string?)envelope["id"]);
        Assert.Equal("/calendars/en.usa#holiday@group.v.calendar.google.com", (string?)envelope["source"]);
        Assert.Equal("calhook.event.updated", (string?)envelope["type"]);
        Assert.Equal("5k2abc", (string?)envelope["subject"]);
        Assert.Equal("1042", (string?)envelope["sequence"]);
        Assert.Equal("2026-11-28T10:00:00.123Z", (string?)envelope["time"]);
        Assert.Equal("application/json", (string?)envelope["datacontenttype"]);
        var data = envelope["data"]!;
        Assert.Equal("chg_01JD", (string?)data["id"]);
        Assert.Equal(1042, (long?)data["sequence"]);
        Assert.Equal("After", (string?)data["event"]!["summary"]);
        Assert.Equal("summary", (string?)data["diff"]![0]!["path"]);
    }

    [Fact]
    public void The_signature_verifies_with_an_independent_implementation_and_the_id_is_the_change_id()
    {
        var secret = WebhookSecrets.Generate();
        var timestamp = new DateTimeOffset(2026, 11, 28, 10, 0, 1, TimeSpan.Zero);

        var message = WebhookMessage.Create(Sample, [secret], timestamp);

        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal("chg_01JD", message.Id);
        Assert.StartsWith("v1,", message.Signature, StringComparison.Ordinal);
        Assert.True(WebhookVerifier.Verify(secret, message.Id, timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), message.Body, message.Signature));
        Assert.False(WebhookVerifier.Verify(WebhookSecrets.Generate(), message.Id, timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), message.Body, message.Signature));
    }

    [Fact]
    public void Two_secrets_give_two_space_separated_signatures_each_verifiable()
    {
        string current = WebhookSecrets.Generate(), previous = WebhookSecrets.Generate();
        var timestamp = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

        var message = WebhookMessage.Create(Sample, [current, previous], timestamp);

        Assert.Equal(2, message.Signature.Split(' ').Length);
        Assert.True(WebhookVerifier.Verify(current, message.Id, "1800000000", message.Body, message.Signature));
        Assert.True(WebhookVerifier.Verify(previous, message.Id, "1800000000", message.Body, message.Signature));
    }
}
