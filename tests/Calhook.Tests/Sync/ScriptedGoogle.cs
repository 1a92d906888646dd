using System.Text.Json;
using Calhook.Google;
using Calhook.Sync;

namespace Calhook.Tests.Sync;

/// <summary>
/// A hand-written events.list for syncer tests: answers are scripted per (sync token, page token), the way
/// Google pages them; every call is recorded.
/// </summary>
internal sealed class ScriptedGoogle
{
    private readonly Dictionary<(string? SyncToken, string? PageToken), GoogleResponse<EventsPage>> _answers = [];

    public List<(string? SyncToken, string? PageToken)> Calls { get; } = [];

    public EventsPageReader Reader => (_, _, syncToken, pageToken, _) =>
    {
        Calls.Add((syncToken, pageToken));
        return Task.FromResult(_answers.TryGetValue((syncToken, pageToken), out var answer)
            ? answer
            : GoogleResponse<EventsPage>.Fail(new GoogleError(GoogleErrorKind.Other, 400, "unscripted", $"No answer for {syncToken}/{pageToken}")));
    };

    /// <summary>Scripts a result: pages chained by page tokens, the last one carrying <paramref name="nextSyncToken"/>.</summary>
    public void List(string? syncToken, string nextSyncToken, params string[][] pages)
    {
        for (var i = 0; i < pages.Length; i++)
        {
            var pageToken = i == 0 ? null : $"{syncToken}-p{i}";
            var last = i == pages.Length - 1;
            var items = pages[i].Select(json => JsonDocument.Parse(json).RootElement.Clone()).ToList();
            _answers[(syncToken, pageToken)] = GoogleResponse<EventsPage>.Ok(
                new EventsPage(items, last ? null : $"{syncToken}-p{i + 1}", last ? nextSyncToken : null));
        }
    }

    public void Fail(string? syncToken, string? pageToken, GoogleErrorKind kind, int status, string? reason = null) =>
        _answers[(syncToken, pageToken)] = GoogleResponse<EventsPage>.Fail(new GoogleError(kind, status, reason ?? kind.ToString(), "scripted failure"));
}
