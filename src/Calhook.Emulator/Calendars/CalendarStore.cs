using System.Collections.Concurrent;
using System.Security.Cryptography;
using Calhook.Emulator.Wire;

namespace Calhook.Emulator.Calendars;

/// <summary>
/// Every calendar, who owns it and whose calendar list holds it (with which role). Thread-safe; each calendar has its
/// own lock and the lists theirs.
/// </summary>
internal sealed partial class CalendarStore(EmulatorRuntime runtime)
{
    private readonly ConcurrentDictionary<string, CalendarState> _calendars = new(StringComparer.Ordinal);
    private readonly Lock _createGate = new();

    /// <summary>Raised after an entry of a user's calendar list changed (calendarList channels of that user).</summary>
    public event Action<string>? CalendarListChanged;

    public EmulatorRuntime Runtime => runtime;

    public CalendarLists Lists { get; } = new();

    /// <summary>Creates the user's primary calendar (id = email) if needed.</summary>
    public CalendarState EnsureUser(string user)
    {
        if (_calendars.TryGetValue(user, out var existing))
        {
            return existing;
        }

        lock (_createGate)
        {
            if (_calendars.TryGetValue(user, out existing))
            {
                return existing;
            }

            var created = _calendars.GetOrAdd(user, id => new CalendarState(id, user, primary: true, user, "UTC"));
            Lists.Put(user, user, "owner", runtime.Clock.GetUtcNow());
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
        Lists.Put(user, id, "owner", runtime.Clock.GetUtcNow());
        CalendarListChanged?.Invoke(user);
        return calendar;
    }

    /// <summary>Deletes a calendar: it leaves every list that held it (each gets a deleted entry and a push).</summary>
    public void Remove(CalendarState calendar)
    {
        lock (calendar.Gate)
        {
            calendar.IsDeleted = true;
        }

        _calendars.TryRemove(calendar.Id, out _);
        var now = runtime.Clock.GetUtcNow();
        foreach (var user in Lists.UsersWith(calendar.Id))
        {
            if (Lists.Remove(user, calendar.Id, now))
            {
                CalendarListChanged?.Invoke(user);
            }
        }
    }

    /// <summary>Shares the calendar with a user (created if needed) with a role; it joins that user's list.</summary>
    public void Share(CalendarState calendar, string user, string role)
    {
        EnsureUser(user);
        if (Lists.Put(user, calendar.Id, role, runtime.Clock.GetUtcNow()))
        {
            CalendarListChanged?.Invoke(user);
        }
    }

    /// <summary>Takes a user's access away: the calendar leaves the user's list. False when the user had none.</summary>
    public bool Unshare(CalendarState calendar, string user)
    {
        if (user == calendar.Owner || !Lists.Remove(user, calendar.Id, runtime.Clock.GetUtcNow()))
        {
            return false;
        }

        CalendarListChanged?.Invoke(user);
        return true;
    }

    /// <summary>The calendar by id (any owner), for emulator controls.</summary>
    public CalendarState? Find(string calendarId) => _calendars.GetValueOrDefault(calendarId);

    /// <summary>The calendar as <paramref name="user"/> may see it: <c>primary</c> resolves; calendars not on the user's list are 404.</summary>
    public (CalendarState? Calendar, GoogleError? Error) Resolve(string calendarId, string user)
    {
        var id = calendarId == "primary" ? user : calendarId;
        if (!_calendars.TryGetValue(id, out var calendar) || calendar.IsDeleted)
        {
            return (null, GoogleError.NotFound());
        }

        return calendar.Owner == user || Lists.RoleOf(user, id) is not null ? (calendar, null) : (null, GoogleError.NotFound());
    }

    /// <summary>As <see cref="Resolve"/>, and the user may change events (writer or owner), else Google's 403.</summary>
    public (CalendarState? Calendar, GoogleError? Error) ResolveWritable(string calendarId, string user)
    {
        var (calendar, error) = Resolve(calendarId, user);
        if (calendar is null || calendar.Owner == user || Lists.RoleOf(user, calendar.Id) is "writer" or "owner")
        {
            return (calendar, error);
        }

        return (null, GoogleError.RequiredAccessLevel());
    }

    /// <summary>The calendars on the user's list, primary first.</summary>
    public IEnumerable<CalendarState> OwnedBy(string user) =>
        _calendars.Values.Where(c => !c.IsDeleted && (c.Owner == user || Lists.RoleOf(user, c.Id) is not null))
            .OrderBy(c => c.Owner == user && c.IsPrimary ? 0 : 1).ThenBy(c => c.Id, StringComparer.Ordinal);

    /// <summary>The opaque, stable resource id of a calendar's events collection (same for every watcher).</summary>
    public static string ResourceIdOf(string collection) =>
        Convert.ToBase64String(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(collection)))[..27].Replace('+', '-').Replace('/', '_');

    internal TimeProvider Clock => runtime.Clock;
}
