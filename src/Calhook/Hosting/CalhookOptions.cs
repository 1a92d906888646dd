namespace Calhook.Hosting;

/// <summary>Calhook's settings, section <c>Calhook</c>. Validated at start-up: a bad value stops the process naming the setting.</summary>
public sealed class CalhookOptions
{
    public const string SectionName = "Calhook";

    /// <summary>The public origin Google reaches this service at; the watch address is <c>{PublicUrl}/google/notifications</c>.</summary>
    public string? PublicUrl { get; set; }

    /// <summary>Where SQLite, Data Protection keys and the generated API key live. Default <c>./calhook-data</c>.</summary>
    public string DataDirectory { get; set; } = "calhook-data";

    /// <summary>The admin API key. When empty, one is generated into the data directory on first start.</summary>
    public string? ApiKey { get; set; }

    public GoogleSettings Google { get; set; } = new();

    public PostgresSettings Postgres { get; set; } = new();
}

public sealed class GoogleSettings
{
    /// <summary>One origin replacing both Google's API host and its OAuth endpoints (the emulator serves both). Default: Google.</summary>
    public string? BaseUrl { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }
}

public sealed class PostgresSettings
{
    public string? ConnectionString { get; set; }
}
