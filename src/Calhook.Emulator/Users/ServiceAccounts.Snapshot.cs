using System.Collections.Concurrent;

namespace Calhook.Emulator.Users;

internal sealed partial class ServiceAccounts
{
    /// <summary>Every service account with its public keys, for the state file.</summary>
    public IEnumerable<ServiceAccount> All => _byEmail.Values;

    public void Restore(string email, string clientId, IEnumerable<KeyValuePair<string, byte[]>> publicKeys) =>
        _byEmail[email] = new ServiceAccount(email, clientId, new ConcurrentDictionary<string, byte[]>(publicKeys, StringComparer.Ordinal));
}
