using System.Text.Json;
using Calhook.Changes;
using Calhook.Delivery;

namespace Calhook.Tests.Delivery;

public sealed class IgnorePathsTests
{
    [Theory]
    [InlineData("attendees[*].responseStatus", "attendees[email=bob@example.com].responseStatus", true)]
    [InlineData("attendees[*].responseStatus", "attendees[0].responseStatus", true)]
    [InlineData("attendees[*].responseStatus", "attendees[email=bob@example.com].comment", false)]
    [InlineData("attendees[*].responseStatus", "attendees[email=bob@example.com]", false)]
    [InlineData("attendees[*].responseStatus", "attendees.responseStatus", false)]
    [InlineData("attendees[email=bob@example.com].responseStatus", "attendees[email=bob@example.com].responseStatus", true)]
    [InlineData("attendees[email=bob@example.com].responseStatus", "attendees[email=carol@example.com].responseStatus", false)]
    [InlineData("extendedProperties.private.*", "extendedProperties.private.syncId", true)]
    [InlineData("extendedProperties.private.*", "extendedProperties.private.a.b", true)]
    [InlineData("extendedProperties.private.*", "extendedProperties.private", false)]
    [InlineData("extendedProperties.private.*", "extendedProperties.shared.syncId", false)]
    [InlineData("extendedProperties.private.*", "extendedProperties.privateX.syncId", false)]
    [InlineData("attendees.*", "attendees[email=bob@example.com].responseStatus", true)]
    [InlineData("start.dateTime", "start.dateTime", true)]
    [InlineData("start.dateTime", "start.dateTimeX", false)]
    [InlineData("start.dateTime", "start", false)]
    [InlineData("start", "start.dateTime", false)]
    [InlineData("summary", "summary", true)]
    public void Patterns_match_diff_paths_as_designed(string pattern, string path, bool matches) =>
        Assert.Equal(matches, IgnorePaths.Matches(pattern, path));

    [Fact]
    public void Dots_inside_a_list_key_do_not_split_the_path() =>
        Assert.True(IgnorePaths.Matches("attendees[*].responseStatus", "attendees[email=first.last@mail.example.com].responseStatus"));

    [Fact]
    public void An_update_is_skipped_only_when_every_diff_path_matches()
    {
        string[] patterns = ["attendees[*].responseStatus", "extendedProperties.private.*"];

        Assert.True(IgnorePaths.Skips(Change(ChangeTypes.Updated, "attendees[email=a@x.com].responseStatus", "extendedProperties.private.echo"), patterns));
        Assert.False(IgnorePaths.Skips(Change(ChangeTypes.Updated, "attendees[email=a@x.com].responseStatus", "summary"), patterns));
    }

    [Fact]
    public void Created_and_deleted_changes_are_never_skipped()
    {
        string[] patterns = ["summary"];

        Assert.False(IgnorePaths.Skips(Change(ChangeTypes.Created, "summary"), patterns));
        Assert.False(IgnorePaths.Skips(Change(ChangeTypes.Deleted, "summary"), patterns));
    }

    [Fact]
    public void No_patterns_skip_nothing() =>
        Assert.False(IgnorePaths.Skips(Change(ChangeTypes.Updated, "summary"), null));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(".*")]
    [InlineData("a..b")]
    [InlineData("a.*.b")]
    [InlineData("a*")]
    [InlineData("attendees[*.x")]
    [InlineData("attendees]x")]
    public void Malformed_patterns_are_named(string pattern) => Assert.NotNull(IgnorePaths.Problem(pattern));

    [Theory]
    [InlineData("summary")]
    [InlineData("attendees[*].responseStatus")]
    [InlineData("extendedProperties.private.*")]
    [InlineData("attendees[email=a.b@c.d].comment")]
    public void Valid_patterns_pass(string pattern) => Assert.Null(IgnorePaths.Problem(pattern));

    private static Change Change(string type, params string[] paths) => new()
    {
        Id = "chg_1", Sequence = 1, Type = type, CalendarId = "c", EventId = "e", WatchId = "w", DetectedAt = DateTimeOffset.UnixEpoch,
        Diff = [.. paths.Select(p => new FieldChange(p, JsonSerializer.SerializeToElement(1), JsonSerializer.SerializeToElement(2)))],
    };
}
