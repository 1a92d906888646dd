using System.Security.Cryptography;
using System.Text;

namespace Calhook.TestKit;

/// <summary>
/// An independent Standard Webhooks verifier, written from the specification (not the StandardWebhooks package):
/// the signed content is <c>{webhook-id}.{webhook-timestamp}.{body}</c>, the key is the base64 part of the
/// <c>whsec_</c> secret, the signature HMAC-SHA256 in base64, and <c>webhook-signature</c> holds space-separated
/// <c>v1,{signature}</c> entries of which one must match.
/// </summary>
public static class WebhookVerifier
{
    public static bool Verify(string secret, string id, string timestamp, string body, string signatureHeader)
    {
        if (!secret.StartsWith("whsec_", StringComparison.Ordinal))
        {
            return false;
        }

        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{body}")));
        foreach (var entry in signatureHeader.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var comma = entry.IndexOf(',', StringComparison.Ordinal);
            if (comma > 0 && entry[..comma] == "v1"
                && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(entry[(comma + 1)..]), Encoding.ASCII.GetBytes(expected)))
            {
                return true;
            }
        }

        return false;
    }
}
