using System.Text.Json;
using Calhook.Changes;

namespace Calhook.Tests.Changes;

public sealed class JsonDiffTests
{
    private static JsonElement J(string json) => JsonDocument.Parse(json.Replace('\'', '"')).RootElement.Clone();

    private static string Render(IReadOnlyList<FieldChange> diff) =>
        string.Join(" | ", diff.Select(d => $"{d.Path}: {d.Before?.GetRawText() ?? "-"} -> {d.After?.GetRawText() ?? "-"}"));

    [Fact]
    public void Identical_events_have_no_diff()
    {
        var e = J("{'id':'a','summary':'x','start':{'dateTime':'2026-12-01T10:00:00+01:00'}}");
        Assert.Empty(JsonDiff.Compare(e, e));
    }

    [Fact]
    public void Bookkeeping_fields_alone_are_not_a_difference()
    {
        var before = J("{'id':'a','etag':'\\'1\\'','updated':'2026-01-01T00:00:00Z','summary':'x'}");
        var after = J("{'id':'a','etag':'\\'2\\'','updated':'2026-01-02T00:00:00Z','summary':'x'}");
        Assert.Empty(JsonDiff.Compare(before, after));
    }

    [Fact]
    public void Nested_fields_are_dotted_paths_and_added_or_removed_fields_have_one_side_absent()
    {
        var before = J("{'start':{'dateTime':'2026-12-01T10:00:00+01:00'},'location':'A'}");
        var after = J("{'start':{'dateTime':'2026-12-01T11:00:00+01:00'},'description':'d'}");
        Assert.Equal(
            "start.dateTime: \"2026-12-01T10:00:00+01:00\" -> \"2026-12-01T11:00:00+01:00\" | location: \"A\" -> - | description: - -> \"d\"",
            Render(JsonDiff.Compare(before, after)));
    }

    [Fact]
    public void The_same_instant_with_another_offset_is_not_a_difference()
    {
        var before = J("{'start':{'dateTime':'2026-12-01T09:00:00Z'}}");
        var after = J("{'start':{'dateTime':'2026-12-01T10:00:00+01:00'}}");
        Assert.Empty(JsonDiff.Compare(before, after));
    }

    [Fact]
    public void Attendees_are_compared_by_email()
    {
        var before = J("{'attendees':[{'email':'bob@example.com','responseStatus':'needsAction'},{'email':'carol@example.com'}]}");
        var after = J("{'attendees':[{'email':'dan@example.com'},{'email':'bob@example.com','responseStatus':'accepted'}]}");
        Assert.Equal(
            "attendees[email=bob@example.com].responseStatus: \"needsAction\" -> \"accepted\" | "
            + "attendees[email=carol@example.com]: {\"email\":\"carol@example.com\"} -> - | "
            + "attendees[email=dan@example.com]: - -> {\"email\":\"dan@example.com\"}",
            Render(JsonDiff.Compare(before, after)));
    }

    [Fact]
    public void Reminder_overrides_are_keyed_by_method_and_minutes()
    {
        var before = J("{'reminders':{'useDefault':false,'overrides':[{'method':'popup','minutes':10}]}}");
        var after = J("{'reminders':{'useDefault':false,'overrides':[{'method':'popup','minutes':10},{'method':'email','minutes':60}]}}");
        Assert.Equal(
            "reminders.overrides[method=email,minutes=60]: - -> {\"method\":\"email\",\"minutes\":60}",
            Render(JsonDiff.Compare(before, after)));
    }

    [Fact]
    public void Attachments_and_entry_points_are_keyed_and_other_arrays_are_compared_whole()
    {
        var before = J("{'recurrence':['RRULE:FREQ=DAILY'],'attachments':[{'fileUrl':'u1','title':'a'}],"
            + "'conferenceData':{'entryPoints':[{'entryPointType':'video','uri':'v1'}]}}");
        var after = J("{'recurrence':['RRULE:FREQ=WEEKLY'],'attachments':[{'fileUrl':'u1','title':'b'}],"
            + "'conferenceData':{'entryPoints':[{'entryPointType':'video','uri':'v2'}]}}");
        Assert.Equal(
            "recurrence: [\"RRULE:FREQ=DAILY\"] -> [\"RRULE:FREQ=WEEKLY\"] | attachments[fileUrl=u1].title: \"a\" -> \"b\" | "
            + "conferenceData.entryPoints[entryPointType=video].uri: \"v1\" -> \"v2\"",
            Render(JsonDiff.Compare(before, after)));
    }

    [Fact]
    public void A_keyed_array_with_a_repeated_or_missing_key_is_compared_whole()
    {
        var before = J("{'attendees':[{'email':'a@x'},{'email':'a@x'}]}");
        var after = J("{'attendees':[{'displayName':'no email'}]}");
        Assert.Equal(
            "attendees: [{\"email\":\"a@x\"},{\"email\":\"a@x\"}] -> [{\"displayName\":\"no email\"}]",
            Render(JsonDiff.Compare(before, after)));
    }

    [Fact]
    public void Etag_below_the_top_level_is_a_real_field()
    {
        var before = J("{'conferenceData':{'etag':'1'}}");
        var after = J("{'conferenceData':{'etag':'2'}}");
        Assert.Equal("conferenceData.etag: \"1\" -> \"2\"", Render(JsonDiff.Compare(before, after)));
    }
}
