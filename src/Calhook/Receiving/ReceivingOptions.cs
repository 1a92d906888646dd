namespace Calhook.Receiving;

/// <summary>Push receiver settings, section <c>Calhook:Receiving</c>.</summary>
internal sealed class ReceivingOptions
{
    public const string SectionName = "Calhook:Receiving";

    /// <summary>Largest accepted notification body in bytes. Google sends none. Default 4096.</summary>
    public long MaxBodyBytes { get; set; } = 4096;

    /// <summary>How often the last-notification times are written to the store. Default 1 second.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Site-verification files served at the site root (Google Search Console), file name → content,
    /// e.g. <c>"google1234abcd.html": "google-site-verification: google1234abcd.html"</c>. Default none.
    /// </summary>
    public Dictionary<string, string> VerificationFiles { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A folder whose <c>.html</c> and <c>.txt</c> files are served at the site root. Default none.</summary>
    public string? VerificationDirectory { get; set; }
}
