using Calhook.Channels;
using Calhook.Storage;
using Calhook.Sync;
using Google.Apis.Auth.OAuth2;

namespace Calhook.Accounts;

/// <summary>
/// What happens around an account beyond its row: a new refresh token for a known email resumes its watches, and
/// removing an account stops its watches and their channels. Used by the accounts API and the connect flow.
/// </summary>
internal sealed class AccountLifecycle(
    ICalhookStore store, SecretProtector secrets, AccountCredentials credentials, ChannelSupervisor supervisor, SyncScheduler sync)
{
    /// <summary>The live (not removed) OAuth account with this email, if any; emails compare case-insensitively.</summary>
    public async Task<AccountRecord?> FindOAuthAccountAsync(string email, CancellationToken cancellationToken) =>
        (await store.ListAccountsAsync(cancellationToken))
            .FirstOrDefault(a => a.Kind == AccountKind.OAuth && string.Equals(a.Email, email, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Stores a new refresh token for an existing account and resumes it: the cached credential is dropped, every
    /// live watch of the account opens a channel again (a working one is renewed early, harmlessly) and syncs now.
    /// A watch's needs_reauth problem clears itself when its channel opens and its sync succeeds. A
    /// <paramref name="verified"/> credential for the new token (<see cref="AccountCredentials.VerifyAsync"/>) is kept
    /// for the account, so the resumed watches use the access token it was given.
    /// </summary>
    public async Task<bool> ReauthorizeAsync(string accountId, string refreshToken, ICredential? verified, CancellationToken cancellationToken)
    {
        if (!await store.ReauthorizeAccountAsync(accountId, secrets.ProtectAccountSecret(refreshToken), cancellationToken))
        {
            return false;
        }

        credentials.Forget(accountId);
        if (verified is not null)
        {
            credentials.Remember(accountId, verified);
        }

        foreach (var watch in await store.ListWatchesAsync(cancellationToken))
        {
            if (watch.AccountId == accountId && watch.Status == WatchStatus.NeedsReauth)
            {
                supervisor.Watch(watch.Id);
                sync.RequestSync(watch.Id);
            }
        }

        return true;
    }

    /// <summary>Removes the account: its watches stop and the channel supervisor stops their channels with Google.</summary>
    public async Task<bool> RemoveAsync(string accountId, CancellationToken cancellationToken)
    {
        if (await store.RemoveAccountAsync(accountId, cancellationToken) is not { } stopped)
        {
            return false;
        }

        foreach (var watchId in stopped)
        {
            supervisor.Unwatch(watchId);
        }

        return true;
    }
}
