using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Calhook.Emulator.Events;

/// <summary>
/// Google's event id rule for ids a client chooses: base32hex characters (lowercase a–v, 0–9), 5 to 1024 long.
/// Ids Google makes itself add suffixes: <c>_{yyyyMMdd['T'HHmmss'Z']}</c> for an instance, <c>_R{yyyyMMdd'T'HHmmss}</c>
/// for a series split off another ("this and following", as recorded).
/// </summary>
internal static partial class EventIds
{
    private const string Base32Hex = "0123456789abcdefghijklmnopqrstuv";

    public static bool IsValidClientId(string id) => id.Length is >= 5 and <= 1024 && Plain().IsMatch(id);

    /// <summary>Ids kept by <c>events.import</c>: copies of events from elsewhere keep their id when it is path-safe.</summary>
    public static bool IsValidImportedId(string id) => id.Length is >= 1 and <= 1024 && Imported().IsMatch(id);

    private const int IdLength = 26;

    // Random bytes are drawn from the OS in blocks: one call per id was a large share of an insert's cost.
    [ThreadStatic] private static byte[]? RandomBlock;
    [ThreadStatic] private static int RandomUsed;

    /// <summary>A new 26-character id, as Google generates them. Thread-safe (per-thread random blocks).</summary>
    public static string New()
    {
        var block = RandomBlock ??= new byte[IdLength * 64];
        if (RandomUsed == 0 || RandomUsed + IdLength > block.Length)
        {
            RandomNumberGenerator.Fill(block);
            RandomUsed = 0;
        }

        var bytes = block.AsSpan(RandomUsed, IdLength);
        RandomUsed += IdLength;
        Span<char> chars = stackalloc char[IdLength];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Base32Hex[bytes[i] & 31];
        }

        return new string(chars);
    }

    /// <summary>The id Google gives a series split off <paramref name="masterId"/> at <paramref name="splitAt"/> (UTC, no <c>Z</c>, as recorded).</summary>
    public static string SplitSeries(string masterId, DateTimeOffset splitAt) =>
        masterId + "_R" + splitAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmss", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The master id of an instance id (<c>{master}_{yyyyMMdd[THHmmssZ]}</c>), or null.</summary>
    public static string? MasterOf(string id)
    {
        var underscore = id.LastIndexOf('_');
        return underscore > 0 && Instance().IsMatch(id) ? id[..underscore] : null;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex Imported();

    [GeneratedRegex("^[a-v0-9]+$")]
    private static partial Regex Plain();

    [GeneratedRegex("^[a-v0-9]+(_R[0-9]{8}(T[0-9]{6})?)?_[0-9]{8}(T[0-9]{6}Z)?$")]
    private static partial Regex Instance();
}
