namespace Calhook.Emulator.Calendars;

internal sealed partial class CalendarStore
{
    /// <summary>Every calendar that is not deleted, for the state file.</summary>
    public IEnumerable<CalendarState> All => _calendars.Values.Where(c => !c.IsDeleted);

    /// <summary>Puts back a calendar read from the state file (before the emulator serves anything).</summary>
    public void Restore(CalendarState calendar) => _calendars[calendar.Id] = calendar;
}
