using System.Globalization;
using System.Text;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Wire;

namespace Calhook.Emulator.Events;

/// <summary>
/// Opaque sync and page tokens. A sync token names the calendar seq it was issued at and an issue number, so
/// expire-sync-tokens and the token lifetime can turn it into a 410 later.
/// </summary>
internal sealed class ListTokens(EmulatorRuntime runtime)
{
    private long _issued;

    /// <summary>Where a paginated list resumes: entries after <see cref="AfterSeq"/>; skip <see cref="Skip"/> items of
    /// the entry at <see cref="EntrySeq"/> (or the first <see cref="Skip"/> items in start-time order).</summary>
    public readonly record struct PagePosition(long Snapshot, long AfterSeq, long EntrySeq, int Skip, string QueryHash);

    public long NextIssueNumber => Interlocked.Read(ref _issued) + 1;

    /// <summary>How many sync tokens were issued; kept in the state file so numbers are never reused.</summary>
    public long Issued
    {
        get => Interlocked.Read(ref _issued);
        set => Interlocked.Exchange(ref _issued, value);
    }

    public string IssueSyncToken(CalendarState calendar, long seq)
    {
        var number = Interlocked.Increment(ref _issued);
        var now = runtime.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        return Encode($"s|{runtime.InstanceId}|{calendar.Id}|{seq}|{number}|{now}");
    }

    /// <summary>The seq a sync token was issued at, or Google's 410 (gone) / 400 (malformed).</summary>
    public (long Seq, GoogleError? Error) ReadSyncToken(CalendarState calendar, string token)
    {
        var parts = Decode(token)?.Split('|');
        if (parts is not { Length: 6 } || parts[0] != "s"
            || !long.TryParse(parts[3], CultureInfo.InvariantCulture, out var seq)
            || !long.TryParse(parts[4], CultureInfo.InvariantCulture, out var number)
            || !long.TryParse(parts[5], CultureInfo.InvariantCulture, out var issuedAt))
        {
            return (0, GoogleError.Invalid("Invalid sync token value.", "syncToken"));
        }

        if (parts[1] != runtime.InstanceId || parts[2] != calendar.Id || seq > calendar.LastSeq
            || number < calendar.TokensValidFrom)
        {
            return (0, GoogleError.FullSyncRequired());
        }

        var lifetime = runtime.Config.SyncTokenLifetimeSeconds;
        if (lifetime is { } seconds && runtime.Clock.GetUtcNow().ToUnixTimeMilliseconds() - issuedAt > seconds * 1000L)
        {
            return (0, GoogleError.FullSyncRequired());
        }

        return (seq, null);
    }

    public static string EncodePage(PagePosition p) =>
        Encode(string.Create(CultureInfo.InvariantCulture, $"p|{p.Snapshot}|{p.AfterSeq}|{p.EntrySeq}|{p.Skip}|{p.QueryHash}"));

    public static PagePosition? DecodePage(string token)
    {
        var parts = Decode(token)?.Split('|');
        if (parts is not { Length: 6 } || parts[0] != "p")
        {
            return null;
        }

        return long.TryParse(parts[1], CultureInfo.InvariantCulture, out var snapshot)
            && long.TryParse(parts[2], CultureInfo.InvariantCulture, out var after)
            && long.TryParse(parts[3], CultureInfo.InvariantCulture, out var entry)
            && int.TryParse(parts[4], CultureInfo.InvariantCulture, out var skip) && skip >= 0
            ? new PagePosition(snapshot, after, entry, skip, parts[5])
            : null;
    }

    private static string Encode(string text) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(text)).Replace('+', '-').Replace('/', '_');

    private static string? Decode(string token)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/')));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
