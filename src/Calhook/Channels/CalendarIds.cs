namespace Calhook.Channels;

/// <summary>
/// What a calendar id may look like before Calhook sends it to Google. Google's ids are email addresses
/// (<c>alice@example.com</c>), group ids (<c>…@group.calendar.google.com</c>) and a few others
/// (<c>en.usa#holiday@group.v.calendar.google.com</c>): printable text, far shorter than <see cref="MaxLength"/>.
/// An id that cannot be one of them is refused at the door rather than retried against Google forever.
/// </summary>
internal static class CalendarIds
{
    /// <summary>The longest calendar id accepted, in characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>Null when <paramref name="calendarId"/> may be a Google calendar id; otherwise what is wrong with it.</summary>
    public static string? Problem(string calendarId)
    {
        ArgumentNullException.ThrowIfNull(calendarId);
        if (calendarId.Length > MaxLength)
        {
            return $"'calendarId' is {calendarId.Length} characters long; calendar ids are at most {MaxLength}.";
        }

        if (calendarId.Any(char.IsControl))
        {
            return "'calendarId' contains a control character (NUL, CR, LF, …); calendar ids are printable text.";
        }

        if (calendarId.Contains("..", StringComparison.Ordinal) || calendarId.Contains('/', StringComparison.Ordinal) || calendarId.Contains('\\', StringComparison.Ordinal))
        {
            return "'calendarId' contains '..', '/' or '\\', which no calendar id holds.";
        }

        return null;
    }
}
