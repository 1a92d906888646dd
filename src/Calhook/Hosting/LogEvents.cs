namespace Calhook.Hosting;

/// <summary>
/// Every log event id of the library, in one table so that ids stay unique: each feature has its own range, and a new
/// <c>[LoggerMessage]</c> takes the next free number of its feature's range here. Ids are part of the logs' contract
/// (alerts filter on them): never reuse or renumber one.
/// </summary>
internal static class LogEvents
{
    // Storage and hosting (1-999)
    public const int StoreMigrationApplied = 1;
    public const int StoreCheckpointFailed = 2;
    public const int ApiKeyGenerated = 101;
    public const int ApiKeyLoaded = 102;
    public const int StoreOpenFailed = 201;

    // Google (11xx)
    public const int GoogleCallFailed = 1101;
    public const int GoogleUnreachable = 1102;

    // Accounts (12xx)
    public const int AccountNeedsReauth = 1201;
    public const int AccountTokenFailed = 1202;
    public const int AccountAssertionRefused = 1203;
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
}
