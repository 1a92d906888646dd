using System.Globalization;
using Calhook.Changes;
using Calhook.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Calhook.PostgreSql;

/// <summary>
/// Wakes this instance's long polls and SSE streams on commits made by any instance: one connection LISTENs on
/// <see cref="PostgresStore.ChangesChannel"/> (every commit that appended changes notifies it with its last sequence)
/// and raises the in-process <see cref="ChangeNotifier"/>. When the connection drops, it reconnects with backoff and
/// then raises the notifier once with the log's current end, so a commit made while it was away still wakes readers.
/// </summary>
internal sealed partial class ChangeListener(
    PostgresStore store, ChangeNotifier notifier, TimeProvider time, ILogger<ChangeListener> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await store.DataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (long.TryParse(e.Payload, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
                    {
                        notifier.Notify(sequence);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresStore.ChangesChannel};", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Listening from here on: whatever committed before is caught up by this one wake-up.
                notifier.Notify(await store.GetLastSequenceAsync(stoppingToken));
                failures = 0;
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or IOException)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 250 * Math.Pow(2, Math.Min(failures, 10))));
                LogListenFailed(logger, delay, exception);
                try
                {
                    await Task.Delay(delay, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.PostgresListenFailed, Level = LogLevel.Warning, Message = "Listening for commits of other instances failed; retrying in {Delay}")]
    private static partial void LogListenFailed(ILogger logger, TimeSpan delay, Exception exception);
}
