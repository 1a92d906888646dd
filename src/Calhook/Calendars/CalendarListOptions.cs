namespace Calhook.Calendars;

/// <summary>How Calhook follows each account's calendar list (section <c>Calhook:CalendarList</c>).</summary>
public sealed class CalendarListOptions
{
    public const string SectionName = "Calhook:CalendarList";

    /// <summary>
    /// How often a calendar-list sync reads the whole list instead of the changes since its sync token. Google does not
    /// return an entry to an incremental list when only the calendar's own properties changed (a rename, a new time
    /// zone), so only a whole list sees those. Default 1 hour; zero reads the whole list on every sync.
    /// </summary>
    public TimeSpan FullListInterval { get; set; } = TimeSpan.FromHours(1);
}
