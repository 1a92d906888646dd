using System.Collections.Concurrent;
using System.Security.Cryptography;
using Calhook.Google;
using Calhook.Hosting;
using Calhook.Storage;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Accounts;

/// <summary>
/// An access token, or why there is none. <see cref="QuotaUser"/> is the user a service account acts as: Google
/// charges the per-user quota to it only when told (<c>x-goog-quota-user</c>).
/// </summary>
internal readonly record struct AccessTokenResult(string? AccessToken, GoogleError? Error, string? QuotaUser = null);

/// <summary>
/// What the token server said of new credentials: <see cref="Verified"/> (it issued an access token), or the
/// <see cref="Refusal"/> of credentials it will never accept; neither when it could not be asked.
/// </summary>
internal readonly record struct CredentialCheck(bool Verified, string? Refusal);

/// <summary>
/// Access tokens for Calhook accounts, through Google.Apis.Auth: OAuth user accounts (refresh token + the configured
/// client) and service accounts with domain-wide delegation (key + subject). Credentials are built once per account
/// and cached; Google.Apis.Auth caches and refreshes the access token itself. Thread-safe.
/// </summary>
internal sealed partial class AccountCredentials
{
    /// <summary>How long <see cref="VerifyAsync"/> waits for the token server.</summary>
    private static readonly TimeSpan VerifyPatience = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Lazy<Task<ICredential?>>> _credentials = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _needsReauth = new(StringComparer.Ordinal);
    private readonly ICalhookStore _store;
    private readonly SecretProtector _secrets;
    private readonly CredentialFactory _factory;
    private readonly ILogger<AccountCredentials> _logger;

    public AccountCredentials(ICalhookStore store, SecretProtector secrets, CredentialFactory factory, ILogger<AccountCredentials> logger)
    {
        _store = store;
        _secrets = secrets;
        _factory = factory;
        _logger = logger;
    }

    /// <summary>The account's access token; <paramref name="forceRefresh"/> asks the token server for a new one.</summary>
    public async Task<AccessTokenResult> GetAccessTokenAsync(string accountId, bool forceRefresh, CancellationToken cancellationToken)
    {
        if (_needsReauth.TryGetValue(accountId, out var reason))
        {
            return Fail(GoogleErrorKind.NeedsReauth, 401, reason);
        }

        // Loaded once per account and shared by concurrent callers, so it must not die with one caller's token.
        var load = _credentials.GetOrAdd(accountId, id => new Lazy<Task<ICredential?>>(() => LoadAsync(id, CancellationToken.None)));
        ICredential? credential;
        try
        {
            credential = await load.Value.WaitAsync(cancellationToken);
        }
        catch (Exception) when (load.Value.IsFaulted)
        {
            _credentials.TryRemove(accountId, out _);
            throw;
        }

        if (credential is null)
        {
            _credentials.TryRemove(accountId, out _);
            return _needsReauth.TryGetValue(accountId, out reason)
                ? Fail(GoogleErrorKind.NeedsReauth, 401, reason)
                : Fail(GoogleErrorKind.Other, 0, $"Account '{accountId}' does not exist.");
        }

        try
        {
            if (forceRefresh)
            {
                await RefreshAsync(credential, cancellationToken);
            }

            var token = await credential.GetAccessTokenForRequestAsync(authUri: null, cancellationToken);
            return new AccessTokenResult(token, null, (credential as ServiceAccountCredential)?.User);
        }
        catch (TokenResponseException ex) when (ex.Error?.Error == "invalid_grant" && AssertionRefused(credential, ex.Error.ErrorDescription))
        {
            // Not a revoked grant: the service account's signed assertion was refused for its content (usually this
            // host's clock). Re-authorising cannot fix it; the message says what can, and the next try (the safety
            // net) succeeds once it is fixed.
            var message = $"Google refused the service account's signed assertion (invalid_grant: {ex.Error.ErrorDescription}). "
                + "Check this host's clock.";
            LogAssertionRefused(_logger, accountId, ex.Error.ErrorDescription);
            return new AccessTokenResult(null, new GoogleError(GoogleErrorKind.Other, 400, "invalid_grant", message));
        }
        catch (TokenResponseException ex) when (ex.Error?.Error is "invalid_grant" or "invalid_client" or "unauthorized_client" or "access_denied")
        {
            // The grant is revoked or the client is wrong: only a person can fix it.
            var message = $"Google refused the account's credentials ({ex.Error.Error}); re-authorise the account.";
            await MarkNeedsReauthAsync(accountId, message, cancellationToken);
            return Fail(GoogleErrorKind.NeedsReauth, 401, message);
        }
        catch (Exception ex) when (ex is TokenResponseException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogTokenFailed(_logger, accountId, ex.GetType().Name);
            return Fail(GoogleErrorKind.Transient, 0, "The token server could not be reached or failed.");
        }
    }

    /// <summary>
    /// True when an <c>invalid_grant</c> refuses a service account's assertion for what it says rather than for the
    /// credential itself: Google's description starts "Invalid JWT" (a clock off by minutes: "Invalid JWT: Token must be
    /// a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values…", a bad audience
    /// or format). Re-authorising cannot fix those. A revoked or expired refresh token ("Token has been expired or
    /// revoked."), a key Google no longer accepts ("Invalid JWT Signature."), an unknown account or subject need a
    /// person to authorise the account again.
    /// </summary>
    private static bool AssertionRefused(ICredential? credential, string? description) =>
        credential is ServiceAccountCredential && description is { } d
        && d.StartsWith("Invalid JWT", StringComparison.Ordinal) && !d.StartsWith("Invalid JWT Signature", StringComparison.Ordinal);

    /// <summary>
    /// Checks credentials before they are stored by asking the token server for an access token with them. Refused:
    /// Google will never accept them (a revoked or unknown refresh token, a wrong client, a subject the service account
    /// may not act as), and storing them would only make a watch that fails. Not checked: the token server failed or
    /// could not be reached, or refused a service account's assertion for its times (this host's clock); the account
    /// is stored and a watch reports the failure, as it would for a token refused later.
    /// </summary>
    public async Task<CredentialCheck> VerifyAsync(ICredential credential, CancellationToken cancellationToken)
    {
        // The caller waits for the answer: a token server that has not answered in this time counts as unreachable.
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(VerifyPatience);
        try
        {
            await credential.GetAccessTokenForRequestAsync(authUri: null, patience.Token);
            return new CredentialCheck(true, null);
        }
        catch (TokenResponseException ex) when (ex.Error?.Error == "invalid_grant" && AssertionRefused(credential, ex.Error.ErrorDescription))
        {
            return new CredentialCheck(false, null);
        }
        catch (TokenResponseException ex) when (ex.Error?.Error is "invalid_grant" or "invalid_client" or "unauthorized_client" or "access_denied")
        {
            var description = ex.Error.ErrorDescription is { Length: > 0 } d ? ": " + d : "";
            return new CredentialCheck(false, ex.Error.Error + description);
        }
        catch (Exception ex) when (ex is TokenResponseException or HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogVerifyFailed(_logger, ex.GetType().Name);
            return new CredentialCheck(false, null);
        }
    }

    /// <summary>
    /// Keeps a credential <see cref="VerifyAsync"/> verified for the account just stored with it: the account's first
    /// request uses the access token the check was given instead of asking the token server again.
    /// </summary>
    public void Remember(string accountId, ICredential credential)
    {
        _needsReauth.TryRemove(accountId, out _);
        _credentials[accountId] = new Lazy<Task<ICredential?>>(Task.FromResult<ICredential?>(credential));
    }

    /// <summary>Records that the account needs re-authorisation; later calls fail fast without asking Google.</summary>
    public async Task MarkNeedsReauthAsync(string accountId, string reason, CancellationToken cancellationToken)
    {
        if (_needsReauth.TryAdd(accountId, reason))
        {
            LogNeedsReauth(_logger, accountId);
            await _store.SetAccountStatusAsync(accountId, AccountStatus.NeedsReauth, reason, cancellationToken);
        }
    }

    /// <summary>Drops the cached credential and any needs-reauth verdict: the next call loads the account's new secret.</summary>
    public void Forget(string accountId)
    {
        _credentials.TryRemove(accountId, out _);
        _needsReauth.TryRemove(accountId, out _);
    }

    private static Task RefreshAsync(ICredential credential, CancellationToken cancellationToken) => credential switch
    {
        UserCredential user => user.RefreshTokenAsync(cancellationToken),
        ServiceAccountCredential service => service.RequestAccessTokenAsync(cancellationToken),
        _ => Task.CompletedTask,
    };

    private async Task<ICredential?> LoadAsync(string accountId, CancellationToken cancellationToken)
    {
        var account = await _store.GetAccountAsync(accountId, cancellationToken);
        if (account is null)
        {
            return null;
        }

        if (account.Status == AccountStatus.NeedsReauth)
        {
            _needsReauth.TryAdd(accountId, account.Error ?? "The account needs re-authorisation.");
            return null;
        }

        string secret;
        try
        {
            secret = _secrets.UnprotectAccountSecret(account.ProtectedSecret);
        }
        catch (CryptographicException)
        {
            _needsReauth.TryAdd(accountId, "The account's secret cannot be decrypted (Data Protection keys lost); re-add the account.");
            return null;
        }

        return account.Kind == AccountKind.OAuth
            ? _factory.CreateUserCredential(accountId, secret)
            : _factory.CreateServiceAccountCredential(ServiceAccountKey.Parse(secret)!, account.Subject);
    }

    private static AccessTokenResult Fail(GoogleErrorKind kind, int status, string message) => new(null, new GoogleError(kind, status, null, message));

    [LoggerMessage(EventId = LogEvents.AccountNeedsReauth, Level = LogLevel.Warning, Message = "Account {AccountId} needs re-authorisation")]
    private static partial void LogNeedsReauth(ILogger logger, string accountId);

    [LoggerMessage(EventId = LogEvents.AccountAssertionRefused, Level = LogLevel.Warning, Message = "Google refused the signed assertion of service account {AccountId}: {Description}")]
    private static partial void LogAssertionRefused(ILogger logger, string accountId, string? description);

    [LoggerMessage(EventId = LogEvents.AccountVerifyFailed, Level = LogLevel.Warning, Message = "New credentials could not be checked with the token server ({Failure}); the account is stored unchecked")]
    private static partial void LogVerifyFailed(ILogger logger, string failure);

    [LoggerMessage(EventId = LogEvents.AccountTokenFailed, Level = LogLevel.Warning, Message = "Token request for account {AccountId} failed ({Failure})")]
    private static partial void LogTokenFailed(ILogger logger, string accountId, string failure);
}
