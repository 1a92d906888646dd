using Calhook.Changes;
using Calhook.Storage;
using Calhook.Storage.Sqlite;
using Calhook.Sync;
using Calhook.TestKit;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Calhook.Tests.Sync;

/// <summary>The syncer against a real SQLite file in a temp folder, one watch, and a scripted events.list.</summary>
public abstract class SyncerTestBase : IAsyncLifetime, IDisposable
{
    private readonly TestDirectory _dir = new();

    protected SyncerTestBase()
    {
        Store = new SqliteStore(_dir.File("calhook.db"));
        // Each page is written as it comes (the smallest batch), so the tests see staged rows of unfinished lists.
        Syncer = new Syncer(Store, Google.Reader, Notifier, new ChangeIds(Time), Time, NullLogger<Syncer>.Instance) { StageBatchBytes = 1 };
    }

    internal ScriptedGoogle Google { get; } = new();

    internal ChangeNotifier Notifier { get; } = new();

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));

    protected WatchRecord Watch { get; } = new("wat_1", "acc_1", "alice@example.com", WatchStatus.Active, null, default, null, null);

    internal SqliteStore Store { get; }

    internal Syncer Syncer { get; }

    public async Task InitializeAsync()
    {
        await Store.MigrateAsync(CancellationToken.None);
        await Store.AddAccountAsync(new AccountRecord("acc_1", AccountKind.OAuth, "alice@example.com", null, "x", AccountStatus.Active, null, default), CancellationToken.None);
        await Store.AddWatchAsync(Watch, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        Store.Dispose();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    protected static string Ev(string id, string summary, string etag = "1") =>
        $$$"""{"id":"{{{id}}}","etag":"{{{etag}}}","status":"confirmed","summary":"{{{summary}}}","start":{"date":"2026-12-01"},"end":{"date":"2026-12-02"}}""";

    protected static string Gone(string id) => $$"""{"id":"{{id}}","status":"cancelled"}""";

    internal Task<SyncOutcome> Sync() => Syncer.SyncAsync(Watch.Id, CancellationToken.None);

    /// <summary>The change log as "sequence:type:eventId, …".</summary>
    protected async Task<string> Log()
    {
        var changes = await Store.ReadChangesAsync(new ChangeQuery(0, 1000), CancellationToken.None);
        return string.Join(", ", changes.Select(c => $"{c.Sequence}:{c.Type}:{c.EventId}"));
    }
}
