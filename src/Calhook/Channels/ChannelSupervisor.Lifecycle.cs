using Calhook.Google;
using Calhook.Storage;

namespace Calhook.Channels;

internal sealed partial class ChannelSupervisor
{
    /// <summary>
    /// Opens a new channel for the watch (first open, renewal or replacement) and, once Google confirmed it, retires
    /// the previous one: it stays open and accepted for <see cref="ChannelOptions.RenewalOverlap"/>, so pings already
    /// on their way to it still count, and is stopped after that.
    /// </summary>
    private async Task OpenChannelAsync(WatchSlot slot, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var id = ChannelTokens.NewChannelId();
        var token = ChannelTokens.NewToken();
        // Invariant 6 (docs/architecture.md): recorded before it is opened, and known to the receiver before Google's first ping.
        await _store.AddChannelAsync(new ChannelRecord(id, slot.WatchId, _secrets.ProtectChannelToken(token), null, null, now, null), cancellationToken);
        _map.Add(KnownChannel.Create(id, slot.WatchId, slot.AccountId, token));

        OpenedChannel? opened = null;
        try
        {
            var request = new ChannelRequest(id, token, Address, _options.RequestedTtl);
            var result = slot.Kind == WatchKind.CalendarList
                ? await _google.WatchCalendarListAsync(slot.AccountId, request, cancellationToken)
                : await _google.WatchEventsAsync(slot.AccountId, slot.CalendarId, request, cancellationToken);
            if (!result.IsSuccess)
            {
                _map.Remove(id);
                await _store.MarkChannelStoppedAsync(id, _time.GetUtcNow(), cancellationToken);
                await HandleOpenFailureAsync(slot, result.Error!, cancellationToken);
                return;
            }

            opened = result.Value!;
            var expiresAt = opened.ExpiresAt ?? now + _options.AssumedTtl;
            await _store.ConfirmChannelAsync(id, opened.ResourceId, expiresAt, cancellationToken);
            await _store.RecordChannelOpenedAsync(slot.WatchId, cancellationToken);
            var previous = slot.Current;
            slot.Current = _map.Confirm(id, opened.ResourceId, expiresAt);
            slot.Failures = 0;
            Schedule(slot, _policy.RenewAt(now, expiresAt, Random.Shared.NextDouble()));
            LogOpened(_logger, slot.WatchId, id, expiresAt);

            if (previous is null)
            {
                // The first channel of this watch in this process: the baseline (or catch-up) sync starts now.
                _sync.RequestSync(slot.WatchId);
            }
            else
            {
                Retire(previous, slot.AccountId);
            }
        }
        catch (Exception) when (slot.Current?.ChannelId != id)
        {
            // The store failed around the watch call: this channel is not the watch's. Forget it and, if Google opened
            // it, stop it (best effort; a survivor pings as unknown and is stopped from there). The caller retries.
            _map.Remove(id);
            await RunSafelyAsync("forget-unrecorded", () => _store.MarkChannelStoppedAsync(id, _time.GetUtcNow(), CancellationToken.None));
            if (opened is not null)
            {
                await RunSafelyAsync("stop-unrecorded", () => _google.StopChannelAsync(slot.AccountId, id, opened.ResourceId, CancellationToken.None));
            }

            throw;
        }
    }

    /// <summary>Keeps a replaced channel accepted for the overlap (never past its expiry), then stops it.</summary>
    private void Retire(KnownChannel previous, string accountId)
    {
        var stopAt = _time.GetUtcNow() + _options.RenewalOverlap;
        if (previous.ExpiresAt is { } expiresAt && expiresAt < stopAt)
        {
            stopAt = expiresAt;
        }

        lock (_gate)
        {
            _retiring.Enqueue(new RetiringChannel(previous.ChannelId, previous.ResourceId, accountId, previous.ExpiresAt), stopAt);
        }
    }

    private async Task StopRetiredAsync(RetiringChannel channel, CancellationToken cancellationToken)
    {
        if (!_map.TryGet(channel.ChannelId, out _))
        {
            return; // already stopped meanwhile (unwatch, give-up)
        }

        if (channel.ExpiresAt <= _time.GetUtcNow())
        {
            // Google forgets an expired channel by itself: no call needed.
            _map.Remove(channel.ChannelId);
            await _store.MarkChannelStoppedAsync(channel.ChannelId, _time.GetUtcNow(), cancellationToken);
            return;
        }

        await StopChannelAsync(channel.ChannelId, channel.ResourceId, channel.AccountId, cancellationToken);
    }

    /// <summary>
    /// Runs one step for one watch (open, renew, restore). A failure that is not Google's answer (the store threw, a
    /// bug) is recorded on the watch as its channel problem and the step is retried with backoff; the loop and every
    /// other watch go on.
    /// </summary>
    private async Task RunWatchStepAsync(WatchSlot slot, Func<WatchSlot, CancellationToken, Task> step, CancellationToken cancellationToken)
    {
        try
        {
            await step(slot, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            slot.Failures++;
            var now = _time.GetUtcNow();
            var retryAt = now + _policy.RetryDelay(slot.Failures, now, slot.Current?.ExpiresAt, Random.Shared.NextDouble());
            LogWatchStepFailed(_logger, slot.WatchId, retryAt, ex);
            bool stillWatched;
            lock (_gate)
            {
                stillWatched = _slots.TryGetValue(slot.WatchId, out var current) && ReferenceEquals(current, slot);
            }

            if (stillWatched)
            {
                Schedule(slot, retryAt);
            }

            if (slot.Current?.ExpiresAt > now)
            {
                return; // the current channel still covers the calendar; the retry comes well before it expires
            }

            try
            {
                var problem = new WatchProblem(WatchProblemKind.Error, $"Keeping the channel open failed ({ex.GetType().Name}: {ex.Message}); retrying at {retryAt:O}.");
                await _store.SetChannelProblemAsync(slot.WatchId, problem, cancellationToken);
            }
            catch (Exception recordFailure) when (recordFailure is not OperationCanceledException)
            {
                // The store is still failing: the log says it, and the retry records the problem or clears it.
                LogWatchStepFailed(_logger, slot.WatchId, retryAt, recordFailure);
            }
        }
    }

    /// <summary>404 and 401 end the watch's channel life with a clear reason; transient failures are retried with backoff.</summary>
    private async Task HandleOpenFailureAsync(WatchSlot slot, GoogleError error, CancellationToken cancellationToken)
    {
        LogOpenFailed(_logger, slot.WatchId, error.Kind, error.Status, error.Reason);
        switch (error.Kind)
        {
            case GoogleErrorKind.NeedsReauth:
                await GiveUpAsync(slot, WatchProblemKind.NeedsReauth, $"Google refused the account's credentials; re-authorise account '{slot.AccountId}'. ({error.Message})", cancellationToken);
                return;
            case GoogleErrorKind.NotFound:
                await GiveUpAsync(slot, WatchProblemKind.Error, $"Calendar '{slot.CalendarId}' was not found or is not visible to the account (404).", cancellationToken);
                // A sync confirms it: its 404 is the calendar's removal (calendar.removed, the watch stopped).
                _sync.RequestSync(slot.WatchId);
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
            await _store.SetChannelProblemAsync(slot.WatchId, new WatchProblem(WatchProblemKind.Error, reason), cancellationToken);
        }
    }

    private async Task GiveUpAsync(WatchSlot slot, WatchProblemKind kind, string reason, CancellationToken cancellationToken)
    {
        await _store.SetChannelProblemAsync(slot.WatchId, new WatchProblem(kind, reason), cancellationToken);
        RemoveSlot(slot.WatchId);
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
}
