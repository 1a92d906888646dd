using Calhook.Storage;

namespace Calhook.Channels;

internal sealed partial class ChannelSupervisor
{
    /// <summary>
    /// Start-up: every watched calendar keeps exactly one open channel. A confirmed channel still in the store is
    /// reused (its renewal rescheduled); duplicates are stopped; unconfirmed ones (a crash during a watch call) are
    /// forgotten and stopped later from their first ping; watches without a usable channel get a new one.
    /// </summary>
    private async Task RestoreAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var watches = (await _store.ListWatchesAsync(cancellationToken)).ToDictionary(w => w.Id, StringComparer.Ordinal);
        var channelsByWatch = (await _store.ListOpenChannelsAsync(cancellationToken)).ToLookup(c => c.WatchId, StringComparer.Ordinal);

        foreach (var group in channelsByWatch)
        {
            if (!watches.ContainsKey(group.Key))
            {
                // The watch was stopped (or removed) while channels were still open: stop them.
                var stoppedWatch = await _store.GetWatchAsync(group.Key, cancellationToken);
                foreach (var channel in group)
                {
                    await StopOrForgetAsync(channel, stoppedWatch?.AccountId, cancellationToken);
                }
            }
        }

        foreach (var watch in watches.Values)
        {
            var channels = channelsByWatch[watch.Id].ToList();
            if (watch.Status == WatchStatus.NeedsReauth)
            {
                foreach (var channel in channels)
                {
                    _map.Remove(channel.Id);
                    await _store.MarkChannelStoppedAsync(channel.Id, now, cancellationToken);
                }

                continue;
            }

            var keep = channels
                .Where(c => c.ResourceId is not null && c.ExpiresAt > now && _map.TryGet(c.Id, out _))
                .MaxBy(c => c.ExpiresAt);
            foreach (var channel in channels.Where(c => c != keep))
            {
                await StopOrForgetAsync(channel, watch.AccountId, cancellationToken);
            }

            var slot = _slots[watch.Id] = new WatchSlot(watch.Id, watch.AccountId, watch.CalendarId);
            if (keep is null)
            {
                await RunSafelyAsync("restore-open", () => OpenChannelAsync(slot, cancellationToken));
                continue;
            }

            slot.Current = _map.Confirm(keep.Id, keep.ResourceId!, keep.ExpiresAt!.Value);
            Schedule(slot, _policy.RenewAt(keep.CreatedAt, keep.ExpiresAt.Value, Random.Shared.NextDouble()));
            if (watch.Status != WatchStatus.Active)
            {
                await _store.SetWatchStatusAsync(watch.Id, WatchStatus.Active, null, cancellationToken);
            }

            // Pings may have been missed while the service was down: catch up.
            _sync.RequestSync(watch.Id);
        }

        LogRestored(_logger, _slots.Count, _map.Count);
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
