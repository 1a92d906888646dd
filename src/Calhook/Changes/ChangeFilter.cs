namespace Calhook.Changes;

/// <summary>
/// Which changes a consumer wants: its types and calendars (null or empty = all) and its <see cref="Changes.IgnorePaths"/>
/// patterns. The same rule for the stream and for subscriptions. Immutable, pure.
/// </summary>
internal sealed record ChangeFilter(IReadOnlyList<string>? Types, IReadOnlyList<string>? CalendarIds, IReadOnlyList<string>? IgnorePaths)
{
    /// <summary>Every change.</summary>
    public static ChangeFilter All { get; } = new(null, null, null);

    public bool Matches(Change change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return (Types is not { Count: > 0 } types || types.Contains(change.Type, StringComparer.Ordinal))
            && (CalendarIds is not { Count: > 0 } calendars || calendars.Contains(change.CalendarId, StringComparer.Ordinal))
            && !Changes.IgnorePaths.Skips(change, IgnorePaths);
    }
}
