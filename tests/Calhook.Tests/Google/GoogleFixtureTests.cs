using System.Net;
using System.Text.Json;
using Calhook.Google;
using Calhook.TestKit;

namespace Calhook.Tests.Google;

/// <summary>Every real Google response in <c>tests/fixtures/google</c> (sources in its SOURCES.md) parses.</summary>
public sealed class GoogleFixtureTests
{
    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (var name in GoogleFixtures.Names())
        {
            data.Add(name);
        }

        return data;
    }

    [Fact]
    public void Every_fixture_is_listed_in_its_sources_and_every_listed_source_is_there()
    {
        var sources = File.ReadAllText(GoogleFixtures.PathOf("SOURCES.md"));
        var listed = System.Text.RegularExpressions.Regex.Matches(sources, @"`([A-Za-z0-9_.-]+\.json)`").Select(m => m.Groups[1].Value).ToHashSet();
        var present = GoogleFixtures.Names().ToHashSet();

        Assert.True(present.Count >= 39, $"Expected the 39 recorded responses in {GoogleFixtures.Folder}.");
        Assert.Empty(present.Except(listed));
        Assert.Empty(listed.Except(present));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Client_parses_fixture(string name)
    {
        var json = File.ReadAllText(GoogleFixtures.PathOf(name));
        switch (name.Split('-')[0])
        {
            case "events" when json.TrimStart().StartsWith('['):
                AssertEvents(Deserialize($$"""{"items":{{json}}}""", GoogleJsonContext.Default.EventsListWire).Items);
                break;
            case "events":
                var page = Deserialize(json, GoogleJsonContext.Default.EventsListWire);
                AssertEvents(page.Items);
                Assert.False(page.NextPageToken is not null && page.NextSyncToken is not null, "a page has a page token or a sync token, not both");
                break;
            case "event":
                AssertEvents(Deserialize($$"""{"items":[{{json}}]}""", GoogleJsonContext.Default.EventsListWire).Items);
                break;
            case "calendarlist":
                var calendars = Deserialize(json, GoogleJsonContext.Default.CalendarListWire);
                Assert.NotEmpty(calendars.Items!);
                Assert.All(calendars.Items!, c => Assert.False(string.IsNullOrEmpty(c.GetProperty("id").GetString())));
                Assert.True(calendars.NextPageToken is not null || calendars.NextSyncToken is not null);
                break;
            case "watch":
                var channel = Deserialize(json, GoogleJsonContext.Default.ChannelWire);
                Assert.Equal("api#channel", channel.Kind);
                Assert.False(string.IsNullOrEmpty(channel.ResourceId));
                Assert.True(channel.Expiration > 1_400_000_000_000, "expiration is Unix milliseconds, as a string or a number");
                break;
            case "error":
                var status = int.Parse(name.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture);
                var error = GoogleErrors.Map((HttpStatusCode)status, json);
                Assert.Equal(status, error.Status);
                Assert.Equal(ExpectedKind(name), error.Kind);
                Assert.False(string.IsNullOrEmpty(error.Reason));
                Assert.False(string.IsNullOrEmpty(error.Message));
                break;
            default:
                Assert.Fail($"No parser for fixture {name}.");
                break;
        }
    }

    private static GoogleErrorKind ExpectedKind(string name) => name switch
    {
        _ when name.StartsWith("error-410", StringComparison.Ordinal) => GoogleErrorKind.FullSyncRequired,
        _ when name.StartsWith("error-401", StringComparison.Ordinal) => GoogleErrorKind.NeedsReauth,
        _ when name.StartsWith("error-404", StringComparison.Ordinal) => GoogleErrorKind.NotFound,
        _ when name.StartsWith("error-403-dailyLimitExceeded", StringComparison.Ordinal) => GoogleErrorKind.QuotaExhausted,
        _ when name.StartsWith("error-403", StringComparison.Ordinal) => GoogleErrorKind.RateLimited,
        _ => GoogleErrorKind.Other,
    };

    private static void AssertEvents(List<JsonElement>? items)
    {
        Assert.NotNull(items);
        Assert.All(items, e => Assert.False(string.IsNullOrEmpty(e.GetProperty("id").GetString())));
    }

    private static T Deserialize<T>(string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonSerializer.Deserialize(json, type) ?? throw new InvalidOperationException("null");
}
