using System.Collections.Concurrent;
using System.Security.Cryptography;
using Calhook.Emulator.Wire;

namespace Calhook.Emulator.Calendars;

/// <summary>Every calendar and which user owns it. Thread-safe; each calendar has its own lock.</summary>
internal sealed partial class CalendarStore(EmulatorRuntime runtime)
{
    private readonly ConcurrentDictionary<string, CalendarState> _calendars = new(StringComparer.Ordinal);
    private readonly Lock _createGate = new();

    /// <summary>Raised after a calendar is added to or removed from a user's list (calendarList channels).</summary>
    public event Action<string>? CalendarListChanged;

    public EmulatorRuntime Runtime => runtime;

    /// <summary>Creates the user's primary calendar (id = email) if needed.</summary>
    public CalendarState EnsureUser(string user)
    {
        if (_calendars.TryGetValue(user, out var existing))
        {
            return existing;
        }

        lock (_createGate)
        {
            var created = _calendars.GetOrAdd(user, id => new CalendarState(id, user, primary: true, user, "UTC"));
            CalendarListChanged?.Invoke(user);
            return created;
        }
    }

    public bool UserExists(string user) => _calendars.ContainsKey(user);

    public CalendarState CreateSecondary(string user, string summary, string timeZone)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + "@group.calendar.google.com";
        var calendar = new CalendarState(id, user, primary: false, summary, timeZone);
        _calendars[id] = calendar;
        CalendarListChanged?.Invoke(user);
        return calendar;
    }

    public void Remove(CalendarState calendar)
    {
        lock (calendar.Gate)
        {
            calendar.IsDeleted = true;
        }

        _calendars.TryRemove(calendar.Id, out _);
        CalendarListChanged?.Invoke(calendar.Owner);
    }

    /// <summary>The calendar by id (any owner), for emulator controls.</summary>
    public CalendarState? Find(string calendarId) => _calendars.GetValueOrDefault(calendarId);

    /// <summary>The calendar as <paramref name="user"/> may see it: <c>primary</c> resolves; others' calendars are 404.</summary>
    public (CalendarState? Calendar, GoogleError? Error) Resolve(string calendarId, string user)
    {
        var id = calendarId == "primary" ? user : calendarId;
        if (!_calendars.TryGetValue(id, out var calendar) || calendar.IsDeleted)
        {
            return (null, GoogleError.NotFound());
        }

        return calendar.Owner == user ? (calendar, null) : (null, GoogleError.NotFound());
    }

    public IEnumerable<CalendarState> OwnedBy(string user) =>
        _calendars.Values.Where(c => c.Owner == user && !c.IsDeleted).OrderBy(c => c.IsPrimary ? 0 : 1).ThenBy(c => c.Id, StringComparer.Ordinal);

    /// <summary>The opaque, stable resource id of a calendar's events collection (same for every watcher).</summary>
    public static string ResourceIdOf(string collection) =>
        Convert.ToBase64String(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(collection)))[..27].Replace('+', '-').Replace('/', '_');

    internal TimeProvider Clock => runtime.Clock;
}
