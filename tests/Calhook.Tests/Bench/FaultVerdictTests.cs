using System.Text.Json.Nodes;
using Calhook.Bench;

namespace Calhook.Tests.Bench;

/// <summary>The fault suite's judge: a run it calls clean must be clean, so each kind of failure must be counted.</summary>
public sealed class FaultVerdictTests
{
    private const string Cal = "a@example.com";

    private readonly Dictionary<(string Calendar, string Event), List<(string Kind, string? Etag)>> _truth = [];
    private readonly List<JsonObject> _log = [];
    private readonly List<WebhookReceipt> _received = [];

    private void Happened(string eventId, string kind, string etag)
    {
        if (!_truth.TryGetValue((Cal, eventId), out var versions))
        {
            _truth[(Cal, eventId)] = versions = [];
        }

        versions.Add((kind, etag));
    }

    private void Logged(string type, string eventId, string? etag, string? previousEtag = null, bool delivered = true)
    {
        var sequence = _log.Count + 1;
        var change = new JsonObject
        {
            ["id"] = $"chg_{sequence}",
            ["sequence"] = (long)sequence,
            ["type"] = type,
            ["calendarId"] = Cal,
            ["eventId"] = eventId,
        };
        if (etag is not null)
        {
            change["event"] = new JsonObject { ["etag"] = etag };
        }

        if (previousEtag is not null)
        {
            change["previous"] = new JsonObject { ["etag"] = previousEtag };
        }

        _log.Add(change);
        if (delivered)
        {
            _received.Add(new WebhookReceipt($"chg_{sequence}", Cal, sequence));
        }
    }

    private FaultVerdict Judge() => FaultVerdict.Judge(_truth, _log, _received);

    [Fact]
    public void A_log_that_shows_every_final_state_once_and_was_delivered_is_clean()
    {
        Happened("e1", "created", "1");
        Happened("e1", "updated", "2");
        Happened("e1", "updated", "3");
        Happened("e2", "created", "1");
        Happened("e2", "deleted", "2");
        Happened("e3", "created", "1");
        Happened("e3", "deleted", "2");
        Logged("event.created", "e1", "1");
        Logged("event.updated", "e1", "3", previousEtag: "1");
        Logged("event.created", "e2", "1");
        Logged("event.deleted", "e2", null, previousEtag: "1");

        var verdict = Judge();

        Assert.Equal((0, 0, 0, 0), (verdict.Lost, verdict.Duplicated, verdict.Spurious, verdict.OutOfOrder));
        Assert.Empty(verdict.Findings);
    }

    [Fact]
    public void A_final_edit_the_log_never_showed_and_a_change_never_delivered_are_lost()
    {
        Happened("e1", "created", "1");
        Happened("e1", "updated", "2");
        Happened("e2", "created", "1");
        Happened("e2", "deleted", "2");
        Logged("event.created", "e1", "1");
        Logged("event.created", "e2", "1", delivered: false);

        var verdict = Judge();

        // e1 ends at etag 2 (the log stops at 1); e2 was deleted (the log still shows it); chg_2 never reached the subscriber.
        Assert.Equal(3, verdict.Lost);
        Assert.Equal(0, verdict.Spurious);
    }

    [Fact]
    public void The_same_state_reported_twice_and_a_second_creation_are_duplicates()
    {
        Happened("e1", "created", "1");
        Happened("e1", "updated", "2");
        Logged("event.created", "e1", "1");
        Logged("event.created", "e1", "1");
        Logged("event.updated", "e1", "2", previousEtag: "1");
        Logged("event.updated", "e1", "2", previousEtag: "1");

        var verdict = Judge();

        Assert.Equal(2, verdict.Duplicated);
        Assert.Equal(0, verdict.Lost);
    }

    [Fact]
    public void Changes_with_no_mutation_behind_them_are_spurious()
    {
        Happened("e1", "created", "1");
        Logged("event.created", "e1", "1");
        Logged("event.updated", "e1", "9", previousEtag: "1");   // an etag the event never had
        Logged("event.updated", "e1", "1", previousEtag: "1");   // an update that changed nothing
        Logged("event.deleted", "e1", null, previousEtag: "1");  // a deletion that never happened
        Logged("event.created", "ghost", "1");                   // an event that never existed
        _received.Add(new WebhookReceipt("chg_404", Cal, 404)); // a webhook for no change of the log

        var verdict = Judge();

        Assert.Equal(5, verdict.Spurious);
    }

    [Fact]
    public void A_webhook_first_received_after_a_later_change_of_its_calendar_is_out_of_order_and_a_repeat_is_a_redelivery()
    {
        Happened("e1", "created", "1");
        Happened("e2", "created", "1");
        Logged("event.created", "e1", "1", delivered: false);
        Logged("event.created", "e2", "1");
        _received.Add(new WebhookReceipt("chg_1", Cal, 1));
        _received.Add(new WebhookReceipt("chg_2", Cal, 2));

        var verdict = Judge();

        Assert.Equal((1, 1, 0), (verdict.OutOfOrder, verdict.Redelivered, verdict.Lost));
    }
}
