using Calhook.Coordination;
using Calhook.Google;
using Calhook.Storage;
using Calhook.Storage.Sqlite;
using Calhook.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Google;

/// <summary>A restart does not grant a fresh quota: the budget's windows go through a real SQLite file from one process to the next.</summary>
public sealed class BudgetJournalTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 10, 0, 30, TimeSpan.Zero));
    private readonly TestDirectory _directory = new();
    private SqliteStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = new SqliteStore(_directory.File("calhook.db"));
        await _store.MigrateAsync(CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        _directory.Dispose();
        return Task.CompletedTask;
    }

    private RequestBudget Budget() => new(new BudgetLimits(100, 1000, 60, 0), _time);

    private BudgetJournal Journal(RequestBudget budget) =>
        new(_store, budget, new StoreKind("sqlite", Shared: false), _time, NullLogger<BudgetJournal>.Instance);

    private static int Take(RequestBudget budget, int tries, string account) =>
        Enumerable.Range(0, tries).Count(i => budget.TryAcquire(account, GoogleRequestPriority.Push, out _));

    [Fact]
    public async Task A_restarted_process_counts_what_the_stopped_one_spent_until_it_leaves_the_window()
    {
        var first = Budget();
        var journal = Journal(first);
        await journal.StartAsync(CancellationToken.None);
        Assert.Equal(60, Take(first, 80, "acc_a")); // acc_a's minute is full
        Assert.Equal(30, Take(first, 30, "acc_b"));
        await journal.StopAsync(CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(20));
        var second = Budget();
        var restarted = Journal(second);
        await restarted.StartAsync(CancellationToken.None);

        Assert.Equal((90L, 90L), (second.Usage().ProjectMinute, second.Usage().ProjectDay));
        Assert.Equal(0, Take(second, 5, "acc_a")); // still full for the rest of its minute
        Assert.Equal(10, Take(second, 20, "acc_c")); // the project has 10 left of 100

        // Once the first process's minute has passed, only the day remembers it.
        _time.Advance(TimeSpan.FromSeconds(41));
        Assert.Equal(60, Take(second, 80, "acc_a"));
        Assert.Equal(160L, second.Usage().ProjectDay);
        await restarted.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_count_carried_over_is_not_saved_again_so_a_chain_of_restarts_counts_each_request_once()
    {
        var first = Budget();
        Assert.Equal(40, Take(first, 40, "acc_a"));
        await Journal(first).SaveAsync(daysDue: true, CancellationToken.None);

        for (var restart = 0; restart < 3; restart++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            var next = Budget();
            var journal = Journal(next);
            await journal.StartAsync(CancellationToken.None);
            Assert.Equal(1, Take(next, 1, "acc_b"));
            await journal.StopAsync(CancellationToken.None);
        }

        var last = Budget();
        last.Restore(await _store.ListBudgetWindowsAsync(_time.GetUtcNow().AddDays(-1), CancellationToken.None));
        Assert.Equal(43L, last.Usage().ProjectMinute);
    }

    [Fact]
    public async Task A_running_process_saves_its_minute_windows_every_interval_and_its_day_windows_once_a_minute()
    {
        var budget = Budget();
        var journal = Journal(budget);
        Take(budget, 5, "acc_a");
        await journal.SaveAsync(daysDue: false, CancellationToken.None);
        Assert.Equal((5L, 5L), await SavedAsync());

        Take(budget, 5, "acc_a");
        _time.Advance(BudgetJournal.Interval);
        await journal.SaveAsync(daysDue: false, CancellationToken.None);
        Assert.Equal((10L, 5L), await SavedAsync()); // the day window waits for its minute

        _time.Advance(BudgetJournal.DayInterval);
        Take(budget, 1, "acc_a");
        await journal.SaveAsync(daysDue: false, CancellationToken.None);
        Assert.Equal((1L, 11L), await SavedAsync());
    }

    /// <summary>The project's saved minute and day counts.</summary>
    private async Task<(long Minute, long Day)> SavedAsync()
    {
        var windows = await _store.ListBudgetWindowsAsync(_time.GetUtcNow().AddDays(-1), CancellationToken.None);
        long Sum(string window) => windows.Where(w => w.Scope == RequestBudget.ProjectScope && w.Window == window).Sum(w => w.Counts.Sum());
        return (Sum(BudgetWindowRecord.MinuteWindow), Sum(BudgetWindowRecord.DayWindow));
    }
}
