using Calhook.Hosting;
using Calhook.Storage;
using Microsoft.Extensions.Logging;

namespace Calhook.Coordination;

/// <summary>
/// Which single instance of those sharing the store does one piece of work: the holder of the lease
/// <see cref="LeaseName"/>. It renews the lease every third of its time to live; when it dies the lease expires and
/// another instance takes it within one time to live. On SQLite (one process) this instance always leads.
/// <see cref="ChannelLeadership"/> (the lease <c>channels</c>) and <see cref="SafetyNetLeadership"/> (<c>safety-net</c>) are the two in use.
/// </summary>
internal abstract partial class Leadership(string leaseName, string work, ICalhookStore store, StoreKind kind, TimeSpan timeToLive, TimeProvider time, ILogger logger)
{
    /// <summary>The lease's name.</summary>
    public string LeaseName => leaseName;

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
                if (await store.TryAcquireLeaseAsync(leaseName, kind.InstanceId, time.GetUtcNow(), timeToLive, stoppingToken))
                {
                    LogLeading(logger, kind.InstanceId, work, leaseName);
                    var term = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    return new Term(this, term, RenewAsync(term), shared: true);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogLeaseFailed(logger, leaseName, exception);
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
                    held = await store.TryAcquireLeaseAsync(leaseName, kind.InstanceId, time.GetUtcNow(), timeToLive, term.Token);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // One failed renewal is not a lost lease: two more tries come before it expires.
                    LogLeaseFailed(logger, leaseName, exception);
                    continue;
                }

                if (!held)
                {
                    LogLost(logger, kind.InstanceId, leaseName, work);
                    await term.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private Task ReleaseAsync() => store.ReleaseLeaseAsync(leaseName, kind.InstanceId, CancellationToken.None);

    private void LogFailure(Exception exception) => LogLeaseFailed(logger, leaseName, exception);

    /// <summary>One term of leadership.</summary>
    internal sealed class Term(Leadership owner, CancellationTokenSource source, Task renewing, bool shared) : IAsyncDisposable
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

    [LoggerMessage(EventId = LogEvents.LeadershipTaken, Level = LogLevel.Information, Message = "Instance {Instance} now {Work} (lease {Lease})")]
    private static partial void LogLeading(ILogger logger, string instance, string work, string lease);

    [LoggerMessage(EventId = LogEvents.LeadershipLost, Level = LogLevel.Warning, Message = "Instance {Instance} lost the lease {Lease}; another instance {Work} now")]
    private static partial void LogLost(ILogger logger, string instance, string lease, string work);

    [LoggerMessage(EventId = LogEvents.LeadershipLeaseFailed, Level = LogLevel.Warning, Message = "Taking or renewing the lease {Lease} failed")]
    private static partial void LogLeaseFailed(ILogger logger, string lease, Exception exception);
}

/// <summary>
/// Which instance opens, renews and stops push channels: the holder of the lease <c>channels</c>. When it dies, another
/// instance takes the lease within one time to live, restores every watch's channel from the store and renews them
/// before they expire (the time to live is far below the renewal margin).
/// </summary>
internal sealed class ChannelLeadership(ICalhookStore store, StoreKind kind, TimeSpan timeToLive, TimeProvider time, ILogger<ChannelLeadership> logger)
    : Leadership("channels", "opens and renews the push channels", store, kind, timeToLive, time, logger);

/// <summary>
/// Which instance runs the start-up catch-up and the safety net over every watch for all instances sharing the store:
/// the holder of the lease <c>safety-net</c>. Each instance taking it runs a catch-up pass first (a leader that died
/// may have died mid-pass, and at a cold start of all instances that is the catch-up), then the safety net's syncs as
/// each watch comes due, so N instances spend the Google requests of one, not N.
/// </summary>
internal sealed class SafetyNetLeadership(ICalhookStore store, StoreKind kind, TimeSpan timeToLive, TimeProvider time, ILogger<SafetyNetLeadership> logger)
    : Leadership("safety-net", "runs the catch-up and the safety net of every watch", store, kind, timeToLive, time, logger);
