using Calhook.Coordination;
using Microsoft.Extensions.Options;

namespace Calhook.Hosting;

/// <summary>Checks <see cref="CalhookOptions"/> at start-up; every failure names the setting as configuration spells it.</summary>
internal sealed class CalhookOptionsValidator(StoreKind? store = null) : IValidateOptions<CalhookOptions>
{
    private readonly StoreKind _store = store ?? StoreKind.Sqlite;

    /// <summary>The shortest API key accepted from configuration; generated keys are far longer.</summary>
    public const int MinimumApiKeyLength = 16;

    public ValidateOptionsResult Validate(string? name, CalhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string prefix = CalhookOptions.SectionName;

        if (!string.IsNullOrEmpty(options.PublicUrl) && !IsHttpUrl(options.PublicUrl))
        {
            failures.Add($"{prefix}:PublicUrl must be an absolute http(s) URL (got '{options.PublicUrl}').");
        }

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add($"{prefix}:DataDirectory must name a directory.");
        }
        else if (options.DataDirectory.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            failures.Add($"{prefix}:DataDirectory contains characters that are not valid in a path.");
        }
        else if (File.Exists(options.DataDirectory))
        {
            failures.Add($"{prefix}:DataDirectory '{options.DataDirectory}' is a file, not a directory.");
        }

        var postgresSet = !string.IsNullOrWhiteSpace(options.Postgres.ConnectionString);
        if (postgresSet && _store.Name != "postgresql")
        {
            // Refused rather than ignored: silently running on SQLite would split a cluster's change log.
            failures.Add($"{prefix}:Postgres:ConnectionString is set, but this host registers no PostgreSQL store: reference Calhook.PostgreSql " +
                "and call AddCalhookPostgreSql() (the calhook executable does), or remove the setting.");
        }
        else if (!postgresSet && _store.Name == "postgresql")
        {
            failures.Add($"{prefix}:Postgres:ConnectionString must be set: the PostgreSQL store is registered.");
        }

        // The key itself is never echoed: it is a secret even when it is a bad one.
        if (!string.IsNullOrEmpty(options.ApiKey) && (options.ApiKey.Length < MinimumApiKeyLength || options.ApiKey.Any(char.IsWhiteSpace)))
        {
            failures.Add($"{prefix}:ApiKey must be at least {MinimumApiKeyLength} characters without spaces, or empty to generate one.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
