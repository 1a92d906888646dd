using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.Logging;

namespace Calhook.Coordination;

/// <summary>
/// Which instance opens, renews and stops push channels: the holder of the lease <c>channels</c>. It renews the lease
/// every third of its time to live; when it dies the lease expires and another instance takes it within one time to
/// live, restores every watch's channel from the store and renews them before they expire (the time to live is far
/// below the renewal margin). On SQLite (one process) this instance always leads.
/// </summary>
internal sealed partial class ChannelLeadership(ICalhookStore store, StoreKind kind, TimeSpan timeToLive, TimeProvider time, ILogger<ChannelLeadership> logger)
{
    public const string LeaseName = "channels";

    /// <summary>How often the leader renews its lease (a third of its time to live), and reconciles with the store.</summary>
    public TimeSpan RenewInterval => timeToLive / 3;

    /// <summary>
    /// Returns once this instance leads; the term's <see cref="Term.Token"/> is cancelled when it stops leading (its
    /// lease was lost, or <paramref name="stoppingToken"/> fired). Disposing the term releases the lease.
    /// </summary>
    public async Task<Term> LeadAsync(CancellationToken stoppingToken)
    {
        if (!kind.Shared)
        {
            return new Term(this, CancellationTokenSource.CreateLinkedTokenSource(stoppingToken), Task.CompletedTask, shared: false);
        }

        while (true)
        {
            try
            {
                if (await store.TryAcquireLeaseAsync(LeaseName, kind.InstanceId, time.GetUtcNow(), timeToLive, stoppingToken))
                {
                    LogLeading(logger, kind.InstanceId);
                    var term = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    return new Term(this, term, RenewAsync(term), shared: true);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogLeaseFailed(logger, exception);
            }

            await Task.Delay(timeToLive / 3, time, stoppingToken);
        }
    }

    private async Task RenewAsync(CancellationTokenSource term)
    {
        try
        {
            while (true)
            {
                await Task.Delay(timeToLive / 3, time, term.Token);
                bool held;
                try
                {
                    held = await store.TryAcquireLeaseAsync(LeaseName, kind.InstanceId, time.GetUtcNow(), timeToLive, term.Token);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // One failed renewal is not a lost lease: two more tries come before it expires.
                    LogLeaseFailed(logger, exception);
                    continue;
                }

                if (!held)
                {
                    LogLost(logger, kind.InstanceId);
                    await term.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private Task ReleaseAsync() => store.ReleaseLeaseAsync(LeaseName, kind.InstanceId, CancellationToken.None);

    private void LogFailure(Exception exception) => LogLeaseFailed(logger, exception);

    /// <summary>One term of leadership.</summary>
    internal sealed class Term(ChannelLeadership owner, CancellationTokenSource source, Task renewing, bool shared) : IAsyncDisposable
    {
        public CancellationToken Token { get; } = source.Token;

        /// <summary>Whether other instances may lead after this one (and this one may lead again later).</summary>
        public bool Shared => shared;

        public async ValueTask DisposeAsync()
        {
            await source.CancelAsync();
            await renewing;
            source.Dispose();
            if (shared)
            {
                try
                {
                    // Handing over at once on a clean shutdown instead of after the time to live.
                    await owner.ReleaseAsync();
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    owner.LogFailure(exception);
                }
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.ChannelLeaseTaken, Level = LogLevel.Information, Message = "Instance {Instance} now opens and renews the push channels")]
    private static partial void LogLeading(ILogger logger, string instance);

    [LoggerMessage(EventId = LogEvents.ChannelLeaseLost, Level = LogLevel.Warning, Message = "Instance {Instance} lost the channel lease; another instance renews the channels now")]
    private static partial void LogLost(ILogger logger, string instance);

    [LoggerMessage(EventId = LogEvents.ChannelLeaseFailed, Level = LogLevel.Warning, Message = "Taking or renewing the channel lease failed")]
    private static partial void LogLeaseFailed(ILogger logger, Exception exception);
}
