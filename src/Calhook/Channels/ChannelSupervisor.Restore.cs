using Calhook.Storage;

namespace Calhook.Channels;

internal sealed partial class ChannelSupervisor
{
    /// <summary>
    /// Start-up: every watched calendar keeps exactly one open channel. A confirmed channel still in the store is
    /// reused (its renewal rescheduled); duplicates are stopped; unconfirmed ones (a crash during a watch call) are
    /// forgotten and stopped later from their first ping; watches without a usable channel get a new one. Each watch is
    /// restored on its own: one that fails is recorded and retried with backoff while the others go on.
    /// </summary>
    private async Task RestoreAsync(CancellationToken cancellationToken)
    {
        var watches = (await _store.ListWatchesAsync(cancellationToken)).ToDictionary(w => w.Id, StringComparer.Ordinal);
        var channelsByWatch = (await _store.ListOpenChannelsAsync(cancellationToken)).ToLookup(c => c.WatchId, StringComparer.Ordinal);

        foreach (var group in channelsByWatch.Where(g => !watches.ContainsKey(g.Key)))
        {
            // The watch was stopped (or removed) while channels were still open: stop them.
            await RunSafelyAsync("restore-stop", async () =>
            {
                var stoppedWatch = await _store.GetWatchAsync(group.Key, cancellationToken);
                foreach (var channel in group)
                {
                    await StopOrForgetAsync(channel, stoppedWatch?.AccountId, cancellationToken);
                }
            });
        }

        var restoring = new List<(WatchSlot Slot, WatchRecord Watch)>();
        lock (_gate)
        {
            foreach (var watch in watches.Values)
            {
                if (_slots.ContainsKey(watch.Id) || watch.Kind == WatchKind.AllCalendars)
                {
                    continue; // a retried restore: this watch came back already
                }

                restoring.Add((_slots[watch.Id] = new WatchSlot(watch) { Restoring = true }, watch));
            }
        }

        await ForEachConcurrentlyAsync(restoring, r =>
            RunWatchStepAsync(r.Slot, (s, ct) => RestoreWatchAsync(s, r.Watch, channelsByWatch[r.Watch.Id].ToList(), ct), cancellationToken), cancellationToken);

        int slots;
        lock (_gate)
        {
            slots = _slots.Count;
        }

        LogRestored(_logger, slots, _map.Count);
    }

    /// <summary>The retry of a watch whose restoration failed: reads its watch and channels again.</summary>
    private async Task RestoreWatchAsync(WatchSlot slot, CancellationToken cancellationToken)
    {
        var watch = await _store.GetWatchAsync(slot.WatchId, cancellationToken);
        var channels = (await _store.ListOpenChannelsAsync(cancellationToken)).Where(c => c.WatchId == slot.WatchId).ToList();
        if (watch is null || watch.Status == WatchStatus.Stopped)
        {
            RemoveSlot(slot.WatchId);
            foreach (var channel in channels)
            {
                await StopOrForgetAsync(channel, watch?.AccountId, cancellationToken);
            }

            return;
        }

        slot.Bind(watch);
        await RestoreWatchAsync(slot, watch, channels, cancellationToken);
    }

    private async Task RestoreWatchAsync(WatchSlot slot, WatchRecord watch, List<ChannelRecord> channels, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (watch.ChannelProblem is { Kind: WatchProblemKind.NeedsReauth })
        {
            // Nothing can be opened until the account is authorised again.
            RemoveSlot(watch.Id);
            foreach (var channel in channels)
            {
                _map.Remove(channel.Id);
                await _store.MarkChannelStoppedAsync(channel.Id, now, cancellationToken);
            }

            return;
        }

        var keep = channels
            .Where(c => c.ResourceId is not null && c.ExpiresAt > now && _map.TryGet(c.Id, out _))
            .MaxBy(c => c.ExpiresAt);
        foreach (var channel in channels.Where(c => c != keep))
        {
            await StopOrForgetAsync(channel, watch.AccountId, cancellationToken);
        }

        if (keep is null)
        {
            slot.Restoring = false;
            await OpenChannelAsync(slot, cancellationToken);
            return;
        }

        if (watch.ChannelProblem is not null || watch.Status != WatchStatus.Active)
        {
            // Only when there is something to clear: a restart of thousands of healthy watches writes nothing here.
            await _store.RecordChannelOpenedAsync(watch.Id, cancellationToken);
        }

        slot.Current = _map.Confirm(keep.Id, keep.ResourceId!, keep.ExpiresAt!.Value);
        slot.Restoring = false;
        slot.Failures = 0;
        Schedule(slot, _policy.RenewAt(keep.CreatedAt, keep.ExpiresAt.Value, Random.Shared.NextDouble()));

        // Pings may have been missed while the service was down: catch up.
        _sync.RequestSync(watch.Id);
    }

    private async Task StopOrForgetAsync(ChannelRecord channel, string? accountId, CancellationToken cancellationToken)
    {
        if (accountId is not null && channel.ResourceId is not null)
        {
            await StopChannelAsync(channel.Id, channel.ResourceId, accountId, cancellationToken);
        }
        else
        {
            _map.Remove(channel.Id);
            await _store.MarkChannelStoppedAsync(channel.Id, _time.GetUtcNow(), cancellationToken);
        }
    }
}
