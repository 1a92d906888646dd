using Microsoft.AspNetCore.DataProtection;

namespace Calhook.Accounts;

/// <summary>
/// Encrypts secrets before they reach the store (invariant 7, docs/architecture.md): refresh tokens, service-account keys, channel
/// tokens and webhook secrets. ASP.NET Core Data Protection, keys persisted in <c>{DataDirectory}/keys</c>. One purpose per kind of
/// secret, so a protected channel token can never be unprotected as an account secret. Thread-safe.
/// </summary>
internal sealed class SecretProtector
{
    private readonly IDataProtector _accountSecrets;
    private readonly IDataProtector _channelTokens;
    private readonly IDataProtector _webhookSecrets;

    public SecretProtector(IDataProtectionProvider provider)
    {
        _accountSecrets = provider.CreateProtector("Calhook.Accounts.Secret.v1");
        _channelTokens = provider.CreateProtector("Calhook.Channels.Token.v1");
        _webhookSecrets = provider.CreateProtector("Calhook.Delivery.Secret.v1");
    }

    public string ProtectAccountSecret(string secret) => _accountSecrets.Protect(secret);

    public string UnprotectAccountSecret(string protectedSecret) => _accountSecrets.Unprotect(protectedSecret);

    public string ProtectChannelToken(string token) => _channelTokens.Protect(token);

    public string UnprotectChannelToken(string protectedToken) => _channelTokens.Unprotect(protectedToken);

    public string ProtectWebhookSecret(string secret) => _webhookSecrets.Protect(secret);

    public string UnprotectWebhookSecret(string protectedSecret) => _webhookSecrets.Unprotect(protectedSecret);
}
