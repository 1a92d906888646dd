namespace Calhook.Emulator;

/// <summary>
/// Every log event id of the emulator, in one table so that ids stay unique; a new log takes the next number. The range
/// 9001-9099 is reserved for the emulator in Calhook's table (Calhook/Hosting/LogEvents.cs), so that an application
/// hosting both never sees one id twice.
/// </summary>
internal static class EmulatorLogEvents
{
    public const int NotificationDropped = 9001;
    public const int NotificationFailed = 9002;
    public const int StateLoaded = 9003;
    public const int StateSaveFailed = 9004;
}
