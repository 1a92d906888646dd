using Calhook.Changes;

namespace Calhook.Tests.Changes;

public sealed class IgnorePathsTests
{
    private static Change Update(params string[] paths) => new()
    {
        Id = "chg_1", Sequence = 1, Type = ChangeTypes.Updated, CalendarId = "alice@example.com", EventId = "ev1", WatchId = "wat_1",
        DetectedAt = DateTimeOffset.UnixEpoch, Diff = [.. paths.Select(p => new FieldChange(p, null, null))],
    };

    [Theory]
    [InlineData("attendees[*].responseStatus", "attendees[email=bob@example.com].responseStatus", true)]
    [InlineData("attendees[*].responseStatus", "attendees[email=bob@example.com].comment", false)]
    [InlineData("attendees[*].responseStatus", "attendees", false)]
    [InlineData("extendedProperties.private.*", "extendedProperties.private.syncId", true)]
    [InlineData("extendedProperties.private.*", "extendedProperties.private", false)]
    [InlineData("extendedProperties.private.*", "extendedProperties.shared.syncId", false)]
    [InlineData("reminders.overrides[*]", "reminders.overrides[method=popup,minutes=10]", true)]
    [InlineData("summary", "summary", true)]
    [InlineData("summary", "summaryx", false)]
    [InlineData("start.dateTime", "start", false)]
    public void A_pattern_matches_diff_paths_field_by_field(string pattern, string path, bool matches)
    {
        Assert.Equal(matches, IgnorePaths.Matches(pattern, path));
    }

    [Fact]
    public void An_update_is_skipped_only_when_every_diff_path_matches()
    {
        string[] patterns = ["attendees[*].responseStatus"];
        Assert.True(IgnorePaths.Skips(Update("attendees[email=a@x.com].responseStatus", "attendees[email=b@x.com].responseStatus"), patterns));
        Assert.False(IgnorePaths.Skips(Update("attendees[email=a@x.com].responseStatus", "summary"), patterns));
    }

    [Fact]
    public void Created_and_deleted_changes_are_never_skipped()
    {
        var created = Update("summary") with { Type = ChangeTypes.Created };
        Assert.False(IgnorePaths.Skips(created, ["summary"]));
        Assert.False(IgnorePaths.Skips(created with { Type = ChangeTypes.Deleted }, ["summary"]));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".*")]
    [InlineData("attendees[")]
    [InlineData("attendees]")]
    [InlineData("summary*")]
    [InlineData("a..b")]
    public void Malformed_patterns_are_named_as_such(string pattern)
    {
        Assert.NotNull(IgnorePaths.Problem(pattern));
    }

    [Fact]
    public void A_filter_needs_type_calendar_and_paths_to_agree()
    {
        var filter = new ChangeFilter([ChangeTypes.Updated], ["alice@example.com"], ["summary"]);
        Assert.True(filter.Matches(Update("location")));
        Assert.False(filter.Matches(Update("summary")));
        Assert.False(filter.Matches(Update("location") with { CalendarId = "bob@example.com" }));
        Assert.False(filter.Matches(Update("location") with { Type = ChangeTypes.Created }));
        Assert.True(ChangeFilter.All.Matches(Update("summary")));
    }
}
