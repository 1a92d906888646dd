namespace Calhook.Emulator;

/// <summary>Every log event id of the emulator, in one table so that ids stay unique; a new log takes the next number.</summary>
internal static class EmulatorLogEvents
{
    public const int NotificationDropped = 1;
    public const int NotificationFailed = 2;
    public const int StateLoaded = 3;
    public const int StateSaveFailed = 4;
}
