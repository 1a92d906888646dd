using Calhook.Storage;

namespace Calhook.Tests.Storage;

// The request budget's saved windows.
public abstract partial class StoreContractTests
{
    private static readonly DateTimeOffset BudgetSaved = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Budget_windows_read_back_as_saved_and_a_later_save_replaces_the_window()
    {
        await Store.SaveBudgetWindowsAsync(
        [
            new BudgetWindowRecord("i1", "project", "minute", 1000, [3, 0, 5], BudgetSaved),
            new BudgetWindowRecord("i1", "user:acc_a", "day", 40, [7], BudgetSaved),
            new BudgetWindowRecord("i2", "project", "minute", 1001, [], BudgetSaved),
        ], BudgetSaved.AddDays(-1), Ct);
        await Store.SaveBudgetWindowsAsync([new BudgetWindowRecord("i1", "project", "minute", 1002, [3, 0, 5, 9, 1], BudgetSaved.AddSeconds(2))], BudgetSaved.AddDays(-1), Ct);

        var windows = await Store.ListBudgetWindowsAsync(BudgetSaved.AddDays(-1), Ct);

        Assert.Equal(
            [("i1", "project", "minute", 1002L, "3,0,5,9,1", BudgetSaved.AddSeconds(2)), ("i1", "user:acc_a", "day", 40L, "7", BudgetSaved), ("i2", "project", "minute", 1001L, "", BudgetSaved)],
            windows.Select(w => (w.InstanceId, w.Scope, w.Window, w.NewestBucket, string.Join(',', w.Counts), w.SavedAt)));
    }

    [Fact]
    public async Task Budget_windows_saved_before_the_cutoff_are_forgotten_by_the_next_save_and_not_listed()
    {
        await Store.SaveBudgetWindowsAsync([new BudgetWindowRecord("old", "project", "day", 1, [1], BudgetSaved)], BudgetSaved.AddDays(-1), Ct);

        Assert.Empty(await Store.ListBudgetWindowsAsync(BudgetSaved.AddMinutes(1), Ct));
        Assert.Single(await Store.ListBudgetWindowsAsync(BudgetSaved, Ct));

        await Store.SaveBudgetWindowsAsync([new BudgetWindowRecord("new", "project", "day", 2, [1], BudgetSaved.AddDays(2))], BudgetSaved.AddDays(1), Ct);
        Assert.Equal(["new"], (await Store.ListBudgetWindowsAsync(BudgetSaved.AddYears(-1), Ct)).Select(w => w.InstanceId));
    }
}
