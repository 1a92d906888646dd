namespace Calhook.Hosting;

/// <summary>
/// Calhook's settings, section <c>Calhook</c>. Validated at start-up: a bad value stops the process naming the setting.
/// Each subsection a feature reads has its own options class in that feature (<c>Calhook:Google</c>:
/// <c>GoogleClientOptions</c>, <c>Calhook:Sync</c>: <c>SyncOptions</c>, …).
/// </summary>
public sealed class CalhookOptions
{
    public const string SectionName = "Calhook";

    /// <summary>The public origin Google reaches this service at; the watch address is <c>{PublicUrl}/google/notifications</c>.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>Where SQLite, Data Protection keys and the generated API key live. Default <c>./calhook-data</c>.</summary>
    public string DataDirectory { get; set; } = "calhook-data";

    /// <summary>The admin API key. When empty, one is generated into the data directory on first start.</summary>
    public string? ApiKey { get; set; }

    public PostgresSettings Postgres { get; set; } = new();
}

public sealed class PostgresSettings
{
    public string? ConnectionString { get; set; }
}
