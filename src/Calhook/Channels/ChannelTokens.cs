using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Calhook.Channels;

/// <summary>Channel ids and tokens: fresh random values, and the constant-time token check.</summary>
internal static class ChannelTokens
{
    /// <summary>Bytes of randomness in a channel token (Google allows 256 characters; 32 bytes is 43 base64url characters).</summary>
    public const int TokenBytes = 32;

    /// <summary>A new channel id: 128 random bits in base64url, inside Google's <c>[A-Za-z0-9\-_+/=]{1,64}</c>.</summary>
    public static string NewChannelId() => "ch" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

    /// <summary>A new per-channel token: 256 random bits in base64url.</summary>
    public static string NewToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(TokenBytes));

    /// <summary>Compares a presented token with the expected one in time independent of where they differ.</summary>
    public static bool Matches(ReadOnlySpan<byte> expected, string? presented)
    {
        if (string.IsNullOrEmpty(presented) || presented.Length > 256)
        {
            return false;
        }

        var max = Encoding.UTF8.GetMaxByteCount(presented.Length);
        var rented = max <= 1024 ? null : ArrayPool<byte>.Shared.Rent(max);
        Span<byte> buffer = rented ?? stackalloc byte[1024];
        try
        {
            var written = Encoding.UTF8.GetBytes(presented, buffer);
            return CryptographicOperations.FixedTimeEquals(expected, buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
