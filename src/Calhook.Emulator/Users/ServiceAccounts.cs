using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Calhook.Emulator.Wire;

namespace Calhook.Emulator.Users;

/// <summary>
/// The service accounts this emulator issued keys for. Only the public half of each key is kept: the private half
/// goes to the caller in a Google-format JSON key and is never stored. Thread-safe.
/// </summary>
internal sealed partial class ServiceAccounts
{
    /// <summary>The project every emulator service account belongs to, as in <c>…@{project}.iam.gserviceaccount.com</c>.</summary>
    public const string ProjectId = "calendar-emulator";

    private readonly ConcurrentDictionary<string, ServiceAccount> _byEmail = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// A service account and the public keys issued for it, by key id (DER SubjectPublicKeyInfo). An account can hold
    /// several keys, as in Google. Bytes rather than <see cref="RSA"/> objects, which are not safe to share across threads.
    /// </summary>
    public sealed record ServiceAccount(string Email, string ClientId, ConcurrentDictionary<string, byte[]> PublicKeys);

    /// <summary>
    /// Creates a fresh RSA 2048 key for the account <paramref name="name"/> (created if new) and returns the JSON key
    /// whose URIs point at <paramref name="origin"/>.
    /// </summary>
    public ServiceAccountKeyFile CreateKey(string name, Uri origin)
    {
        var email = $"{name}@{ProjectId}.iam.gserviceaccount.com";
        var account = _byEmail.GetOrAdd(email, e => new ServiceAccount(e, NewClientId(), new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal)));
        using var rsa = RSA.Create(2048);
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        account.PublicKeys[keyId] = rsa.ExportSubjectPublicKeyInfo();
        var root = origin.GetLeftPart(UriPartial.Authority);
        return new ServiceAccountKeyFile("service_account", ProjectId, keyId, rsa.ExportPkcs8PrivateKeyPem() + "\n", email,
            account.ClientId, root + "/o/oauth2/v2/auth", root + "/token", "googleapis.com");
    }

    /// <summary>The account of <paramref name="email"/>, or null when this emulator never issued a key for it.</summary>
    public ServiceAccount? Find(string email) => _byEmail.GetValueOrDefault(email);

    /// <summary>A valid account name: 6–30 lowercase letters, digits or dashes, starting with a letter (Google's rule).</summary>
    public static bool IsValidName(string name) =>
        name.Length is >= 6 and <= 30 && char.IsAsciiLetterLower(name[0]) && !name.EndsWith('-')
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    // Google's client ids of service accounts are 21-digit numbers.
    private static string NewClientId() =>
        "1" + string.Concat(Enumerable.Range(0, 20).Select(_ => RandomNumberGenerator.GetInt32(10).ToString(CultureInfo.InvariantCulture)));
}
