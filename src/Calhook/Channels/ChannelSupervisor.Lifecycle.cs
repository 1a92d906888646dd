using Calhook.Google;
using Calhook.Storage;

namespace Calhook.Channels;

internal sealed partial class ChannelSupervisor
{
    /// <summary>
    /// Opens a new channel for the watch (first open, renewal or replacement) and, once Google confirmed it, stops
    /// the previous one: the two overlap for the length of one watch call, so no change goes unnoticed in between.
    /// </summary>
    private async Task OpenChannelAsync(WatchSlot slot, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var id = ChannelTokens.NewChannelId();
        var token = ChannelTokens.NewToken();
        // Invariant 6: recorded before it is opened, and known to the receiver before Google's first ping.
        await _store.AddChannelAsync(new ChannelRecord(id, slot.WatchId, _secrets.ProtectChannelToken(token), null, null, now, null), cancellationToken);
        _map.Add(KnownChannel.Create(id, slot.WatchId, slot.AccountId, token));

        var result = await _google.WatchEventsAsync(slot.AccountId, slot.CalendarId, new ChannelRequest(id, token, Address, _options.RequestedTtl), cancellationToken);
        if (!result.IsSuccess)
        {
            _map.Remove(id);
            await _store.MarkChannelStoppedAsync(id, _time.GetUtcNow(), cancellationToken);
            await HandleOpenFailureAsync(slot, result.Error!, cancellationToken);
            return;
        }

        var opened = result.Value!;
        var expiresAt = opened.ExpiresAt ?? now + _options.AssumedTtl;
        await _store.ConfirmChannelAsync(id, opened.ResourceId, expiresAt, cancellationToken);
        var previous = slot.Current;
        slot.Current = _map.Confirm(id, opened.ResourceId, expiresAt);
        slot.Failures = 0;
        Schedule(slot, _policy.RenewAt(now, expiresAt, Random.Shared.NextDouble()));
        LogOpened(_logger, slot.WatchId, id, expiresAt);

        if (await _store.GetWatchAsync(slot.WatchId, cancellationToken) is { } watch && watch.Status != WatchStatus.Active)
        {
            await _store.SetWatchStatusAsync(slot.WatchId, WatchStatus.Active, null, cancellationToken);
        }

        if (previous is null)
        {
            // The first channel of this watch in this process: the baseline (or catch-up) sync starts now.
            _sync.RequestSync(slot.WatchId);
        }
        else
        {
            await StopChannelAsync(previous.ChannelId, previous.ResourceId, slot.AccountId, cancellationToken);
        }
    }

    /// <summary>404 and 401 end the watch's channel life with a clear reason; transient failures are retried with backoff.</summary>
    private async Task HandleOpenFailureAsync(WatchSlot slot, GoogleError error, CancellationToken cancellationToken)
    {
        LogOpenFailed(_logger, slot.WatchId, error.Kind, error.Status, error.Reason);
        switch (error.Kind)
        {
            case GoogleErrorKind.NeedsReauth:
                await GiveUpAsync(slot, WatchStatus.NeedsReauth, $"Google refused the account's credentials; re-authorise account '{slot.AccountId}'. ({error.Message})", cancellationToken);
                return;
            case GoogleErrorKind.NotFound:
                await GiveUpAsync(slot, WatchStatus.Failing, $"Calendar '{slot.CalendarId}' was not found or is not visible to the account (404).", cancellationToken);
                return;
        }

        slot.Failures++;
        var now = _time.GetUtcNow();
        var currentExpiry = slot.Current?.ExpiresAt;
        var retryAt = now + _policy.RetryDelay(slot.Failures, now, currentExpiry, Random.Shared.NextDouble());
        Schedule(slot, retryAt);
        if (currentExpiry is null || currentExpiry <= now)
        {
            // No open channel covers the calendar meanwhile: say so, and why.
            var reason = $"Opening the channel failed ({error.Status} {error.Reason ?? error.Kind.ToString()}: {error.Message}); retrying at {retryAt:O}.";
            await _store.SetWatchStatusAsync(slot.WatchId, WatchStatus.Failing, reason, cancellationToken);
        }
    }

    private async Task GiveUpAsync(WatchSlot slot, WatchStatus status, string reason, CancellationToken cancellationToken)
    {
        await _store.SetWatchStatusAsync(slot.WatchId, status, reason, cancellationToken);
        _slots.Remove(slot.WatchId);
        slot.DueAt = null;
        _map.ClearWatch(slot.WatchId);
        if (slot.Current is { } current)
        {
            // Best effort: with the calendar gone or the grant revoked, Google usually refuses this too.
            await StopChannelAsync(current.ChannelId, current.ResourceId, slot.AccountId, cancellationToken);
        }
    }

    /// <summary>
    /// Stops a channel with Google and forgets it. It is forgotten even when the stop fails: if it still pings, the
    /// receiver sees an unknown channel and the stop is tried again from there.
    /// </summary>
    private async Task StopChannelAsync(string channelId, string? resourceId, string accountId, CancellationToken cancellationToken)
    {
        _map.Remove(channelId);
        if (resourceId is not null)
        {
            var result = await _google.StopChannelAsync(accountId, channelId, resourceId, cancellationToken);
            if (result.IsSuccess || result.Error!.Kind == GoogleErrorKind.NotFound)
            {
                LogStopped(_logger, channelId);
            }
            else
            {
                LogStopFailed(_logger, channelId, result.Error.Status, result.Error.Reason);
            }
        }

        await _store.MarkChannelStoppedAsync(channelId, _time.GetUtcNow(), cancellationToken);
    }

    /// <summary>A ping for a channel not in the map: stop it when some account of ours can (invariant 6).</summary>
    private async Task StopUnknownAsync(string channelId, string resourceId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_map.TryGet(channelId, out _) || (_unknownStopped.TryGetValue(channelId, out var at) && now - at < _options.UnknownChannelStopWindow))
        {
            return;
        }

        if (_unknownStopped.Count > 10_000)
        {
            _unknownStopped.Clear();
        }

        _unknownStopped[channelId] = now;
        var record = await _store.GetChannelAsync(channelId, cancellationToken);
        if (record is { StoppedAt: null })
        {
            return; // ours and open: being opened right now, or restored a moment ago
        }

        var accountId = record is not null && await _store.GetWatchAsync(record.WatchId, cancellationToken) is { } watch
            ? watch.AccountId
            : _map.AccountForResource(resourceId);
        if (accountId is null)
        {
            LogUnknownNotStoppable(_logger, channelId);
            return;
        }

        var result = await _google.StopChannelAsync(accountId, channelId, resourceId, cancellationToken);
        LogUnknownStopped(_logger, channelId, result.IsSuccess ? 200 : result.Error!.Status);
    }
}
