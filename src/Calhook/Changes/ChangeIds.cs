using System.Security.Cryptography;

namespace Calhook.Changes;

/// <summary>
/// Change ids: <c>chg_</c> + 26 Crockford base32 characters, a 48-bit millisecond timestamp then 80 random bits
/// (the ULID layout), so ids sort roughly by creation time. Thread-safe.
/// </summary>
internal sealed class ChangeIds(TimeProvider timeProvider)
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public string Next()
    {
        Span<byte> bytes = stackalloc byte[16];
        var millis = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--)
        {
            bytes[i] = (byte)(millis & 0xFF);
            millis >>= 8;
        }

        RandomNumberGenerator.Fill(bytes[6..]);
        return "chg_" + Encode(bytes);
    }

    /// <summary>128 bits as 26 base32 characters, most significant first (the first character carries 3 bits).</summary>
    private static string Encode(ReadOnlySpan<byte> bytes)
    {
        var high = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes);
        var low = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]);
        var value = ((UInt128)high << 64) | low;
        Span<char> chars = stackalloc char[26];
        for (var i = 25; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return new string(chars);
    }
}
