namespace Calhook.Hosting;

/// <summary>
/// Every log event id of Calhook, in one table so that ids stay unique: each feature has its own range, and a new
/// <c>[LoggerMessage]</c> takes the next free number of its feature's range here. The PostgreSQL store
/// (<c>Calhook.PostgreSql</c>) takes its ids from this table too; the emulator, which does not reference this library,
/// keeps its own table (<c>EmulatorLogEvents</c>) in the range 9001-9099 reserved for it here. Ids are part of the
/// logs' contract (alerts filter on them, docs/observability.md lists the ranges): never reuse or renumber one.
/// <c>LogEventIdTests</c> fails when two log messages share an id or a message takes an id from outside these tables.
/// </summary>
internal static class LogEvents
{
    // Storage and hosting (1-999)
    public const int StoreMigrationApplied = 1;
    public const int StoreCheckpointFailed = 2;
    public const int ApiKeyGenerated = 101;
    public const int ApiKeyLoaded = 102;
    public const int StoreOpenFailed = 201;

    // PostgreSQL store (3xx)
    public const int PostgresMigrationApplied = 301;
    public const int PostgresListenFailed = 302;

    // Google (11xx)
    public const int GoogleCallFailed = 1101;
    public const int GoogleUnreachable = 1102;
    public const int BudgetRestored = 1103;
    public const int BudgetRestoreFailed = 1104;
    public const int BudgetSaveFailed = 1105;

    // Accounts (12xx)
    public const int AccountNeedsReauth = 1201;
    public const int AccountTokenFailed = 1202;
    public const int AccountAssertionRefused = 1203;
    public const int AccountVerifyFailed = 1204;
    public const int ConnectCallbackRefused = 1210;
    public const int ConnectCodeExchangeFailed = 1211;
    public const int ConnectAccountConnected = 1212;

    // Channels (13xx)
    public const int ChannelOpened = 1301;
    public const int ChannelOpenFailed = 1302;
    public const int ChannelStopped = 1303;
    public const int ChannelStopFailed = 1304;
    public const int UnknownChannelStopped = 1305;
    public const int UnknownChannelNotStoppable = 1306;
    public const int ChannelsRestored = 1307;
    public const int ChannelSupervisorStepFailed = 1308;
    public const int ChannelKeepOpenFailed = 1309;
    public const int UnknownChannelStopFailed = 1310;

    // Receiving (14xx)
    public const int NotificationRecordFailed = 1401;

    // Change feed and stream (15xx)
    public const int ChangeStreamReadFailed = 1501;
    public const int ChangeStreamReaderDisconnected = 1502;

    // Calendar lists (16xx)
    public const int CalendarListSynced = 1601;
    public const int CalendarListSyncFailed = 1602;
    public const int CalendarListSuperseded = 1603;
    public const int CalendarWatchStopped = 1611;
    public const int CalendarFollowed = 1612;

    // Syncer (30xx)
    public const int SyncFullResync = 3001;
    public const int SyncCompleted = 3002;
    public const int SyncFailed = 3003;
    public const int SyncFullListStaged = 3004;
    public const int SyncFullListRead = 3005;
    public const int SyncCommittedWithProblem = 3006;
    public const int SyncSuperseded = 3007;

    // Sync scheduler (31xx)
    public const int SyncCrashed = 3101;
    public const int SyncRetryScheduled = 3102;
    public const int SafetyNetListFailed = 3103;
    public const int SafetyNetStretched = 3104;

    // Webhook delivery (50xx)
    public const int DeliveryDelivered = 5001;
    public const int DeliveryAttemptFailed = 5002;
    public const int DeliveryGaveUp = 5003;
    public const int DeliverySubscriptionGone = 5004;
    public const int DeliveryLoopFailed = 5005;
    public const int DeliveryAttemptCrashed = 5006;
    public const int DeliveryAttemptsPruned = 5008;

    // Coordination of instances on a shared store (51xx)
    public const int LeaseBusy = 5101;
    public const int LeaseTakenOver = 5102;
    public const int LeaseRenewFailed = 5103;
    public const int LeaseExpiredTakenHere = 5104;
    public const int LeaseSweepFailed = 5105;
    public const int LeadershipTaken = 5106;
    public const int LeadershipLost = 5107;
    public const int LeadershipLeaseFailed = 5108;
    public const int LeaseReleaseFailed = 5109;
    public const int PendingPingWriteFailed = 5110;

    // The emulator (90xx) has its own table, EmulatorLogEvents in Calhook.Emulator.
}
