using System.Text.Json;
using System.Text.Json.Serialization;
using Calhook.Hosting;
using Calhook.Storage;
using Google.Apis.Auth.OAuth2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Calhook.Accounts;

/// <summary><c>POST /v1/accounts</c>: connects a Google identity Calhook acts as.</summary>
internal static class AccountsApi
{
    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/v1/accounts").RequireCalhookApiKey();
        group.MapPost("", CreateAsync);
        group.MapGet("", ListAsync);
        group.MapGet("/{id}", GetAsync);
        group.MapDelete("/{id}", DeleteAsync);
        return endpoints;
    }

    private static async Task<Ok<AccountList>> ListAsync(ICalhookStore store, CancellationToken cancellationToken)
    {
        var watches = await store.ListWatchesAsync(cancellationToken);
        var accounts = await store.ListAccountsAsync(cancellationToken);
        return TypedResults.Ok(new AccountList(accounts.Select(a => AccountView.From(a, watches)).ToList()));
    }

    private static async Task<Results<Ok<AccountView>, ProblemHttpResult>> GetAsync(string id, ICalhookStore store, CancellationToken cancellationToken)
    {
        if (await store.GetAccountAsync(id, cancellationToken) is not { Status: not AccountStatus.Removed } account)
        {
            return NotFound(id);
        }

        return TypedResults.Ok(AccountView.From(account, await store.ListWatchesAsync(cancellationToken)));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, AccountLifecycle lifecycle, CancellationToken cancellationToken) =>
        await lifecycle.RemoveAsync(id, cancellationToken) ? TypedResults.NoContent() : NotFound(id);

    private static async Task<Results<Created<AccountCreated>, Ok<AccountCreated>, ProblemHttpResult>> CreateAsync(
        CreateAccountRequest request, ICalhookStore store, SecretProtector secrets, CredentialFactory credentials,
        AccountCredentials tokens, AccountLifecycle lifecycle, TimeProvider time, CancellationToken cancellationToken)
    {
        // New credentials are checked with Google before they are stored (AccountCredentials.VerifyAsync): ones Google
        // refuses are answered here instead of failing the account's first watch; the access token the check was given
        // serves the account's first requests.
        var id = "acc_" + Guid.CreateVersion7(time.GetUtcNow()).ToString("N");
        AccountRecord account;
        ICredential credential;
        CredentialCheck check;
        switch (request.Type)
        {
            case "oauth":
                if (string.IsNullOrWhiteSpace(request.Email) || string.IsNullOrWhiteSpace(request.RefreshToken))
                {
                    return BadRequest("An oauth account needs 'email' and 'refreshToken'.");
                }

                if (credentials.ClientSecrets is null)
                {
                    return BadRequest("OAuth accounts need Calhook:Google:ClientId and Calhook:Google:ClientSecret to be configured.");
                }

                credential = credentials.CreateUserCredential(id, request.RefreshToken)!;
                check = await tokens.VerifyAsync(credential, cancellationToken);
                if (check.Refusal is { } refused)
                {
                    return BadRequest($"Google refused the refresh token ({refused}); nothing was stored. Connect the account again for a new one.");
                }

                // The same person connecting again (a new refresh token) re-authorises the account they already have.
                if (await lifecycle.FindOAuthAccountAsync(request.Email, cancellationToken) is { } existing)
                {
                    await lifecycle.ReauthorizeAsync(existing.Id, request.RefreshToken, check.Verified ? credential : null, cancellationToken);
                    return TypedResults.Ok(new AccountCreated(existing.Id));
                }

                account = new AccountRecord(id, AccountKind.OAuth, request.Email, null,
                    secrets.ProtectAccountSecret(request.RefreshToken), AccountStatus.Active, null, time.GetUtcNow());
                break;

            case "serviceAccount":
                var keyJson = request.Key is { ValueKind: JsonValueKind.Object } key ? key.GetRawText() : null;
                if (keyJson is null || ServiceAccountKey.Parse(keyJson) is not { } parsed)
                {
                    return BadRequest("A serviceAccount account needs 'key': the service account's JSON key (client_email, private_key).");
                }

                if (string.IsNullOrWhiteSpace(request.Subject))
                {
                    return BadRequest("A serviceAccount account needs 'subject': the user it acts as (domain-wide delegation).");
                }

                try
                {
                    // .NET's own PEM reader first: it refuses anything that is not an RSA key with a known exception.
                    // Google's hand-written ASN.1 reader, given another well-formed key (an EC key in PKCS#8), can fail
                    // with index or cast errors depending on the key's bytes.
                    using (var rsa = System.Security.Cryptography.RSA.Create())
                    {
                        rsa.ImportFromPem(parsed.PrivateKey);
                    }

                    credential = credentials.CreateServiceAccountCredential(parsed, request.Subject);
                }
                catch (Exception ex) when (ex is ArgumentException or FormatException or NotSupportedException or InvalidOperationException
                    or System.Security.Cryptography.CryptographicException or IndexOutOfRangeException or InvalidCastException or OverflowException)
                {
                    // The parser's message may name its internals; the field is what the caller can fix.
                    return BadRequest("The service account's 'key.private_key' is not a valid PEM-encoded RSA private key (PKCS#8, as in Google's JSON key files).");
                }

                check = await tokens.VerifyAsync(credential, cancellationToken);
                if (check.Refusal is { } denied)
                {
                    return BadRequest($"Google refused the service account's credentials for '{request.Subject}' ({denied}); nothing was stored. "
                        + "Check the key, and that domain-wide delegation grants this client the calendar scope.");
                }

                account = new AccountRecord(id, AccountKind.ServiceAccount, request.Subject, request.Subject,
                    secrets.ProtectAccountSecret(keyJson), AccountStatus.Active, null, time.GetUtcNow());
                break;

            default:
                return BadRequest("'type' must be 'oauth' or 'serviceAccount'.");
        }

        await store.AddAccountAsync(account, cancellationToken);
        if (check.Verified)
        {
            tokens.Remember(id, credential);
        }

        return TypedResults.Created($"/v1/accounts/{id}", new AccountCreated(id));
    }

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem($"There is no account '{id}'; `calhook accounts list` shows the accounts.", statusCode: StatusCodes.Status404NotFound, title: "Account not found");

    private static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid account");
}

internal sealed record CreateAccountRequest(string? Type, string? Email, string? RefreshToken, JsonElement? Key, string? Subject);

internal sealed record AccountCreated(string Id);

/// <summary>An account as the API shows it: never its secret. <c>watches</c> counts its live watches.</summary>
internal sealed record AccountView(string Id, string Type, string Email, string Status, string? Error, DateTimeOffset CreatedAt, int Watches)
{
    public static AccountView From(AccountRecord account, IReadOnlyList<WatchRecord> watches) => new(
        account.Id,
        account.Kind == AccountKind.OAuth ? "oauth" : "serviceAccount",
        account.Email,
        account.Status switch { AccountStatus.Active => "active", AccountStatus.NeedsReauth => "needs_reauth", _ => "removed" },
        account.Error,
        account.CreatedAt,
        watches.Count(w => w.AccountId == account.Id && w.Status != WatchStatus.Stopped && w.Kind != WatchKind.CalendarList));
}

internal sealed record AccountList(IReadOnlyList<AccountView> Items);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CreateAccountRequest))]
[JsonSerializable(typeof(AccountCreated))]
[JsonSerializable(typeof(AccountView))]
[JsonSerializable(typeof(AccountList))]
[JsonSerializable(typeof(ServiceAccountKey))]
internal sealed partial class AccountsJsonContext : JsonSerializerContext;
