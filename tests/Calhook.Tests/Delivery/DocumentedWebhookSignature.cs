using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Calhook.Tests.Delivery;

// The C# verifier of docs/webhooks.md ("Verifying the signature"), copied exactly: SignatureDocsTests checks that the
// two stay the same and that this code verifies webhooks Calhook delivered.
public static class WebhookSignature
{
    /// <summary>How far webhook-timestamp may be from the receiver's clock.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);

    /// <summary>
    /// True when <paramref name="signatures"/> (webhook-signature) holds a v1 signature of
    /// "{id}.{timestamp}.{body}" made with <paramref name="secret"/> (whsec_…), and the timestamp is fresh.
    /// </summary>
    public static bool Verify(string secret, string id, string timestamp, string signatures, byte[] body, DateTimeOffset now)
    {
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var sent)
            || Math.Abs(now.ToUnixTimeSeconds() - sent) > Tolerance.TotalSeconds)
        {
            return false;
        }

        var key = Convert.FromBase64String(secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret[6..] : secret);
        byte[] signed = [.. Encoding.UTF8.GetBytes($"{id}.{timestamp}."), .. body];
        var expected = HMACSHA256.HashData(key, signed);
        foreach (var entry in signatures.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split(',', 2);
            var given = new byte[expected.Length];
            if (parts.Length == 2 && parts[0] == "v1"
                && Convert.TryFromBase64String(parts[1], given, out var length) && length == expected.Length
                && CryptographicOperations.FixedTimeEquals(given, expected))
            {
                return true;
            }
        }

        return false;
    }
}
