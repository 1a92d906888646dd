namespace Calhook.Coordination;

/// <summary>
/// How instances sharing one store (PostgreSQL) divide the work, section <c>Calhook:Coordination</c>. On SQLite, where
/// one process does everything, only the webhook lease margin uses it. Validated at start-up.
/// </summary>
public sealed class CoordinationOptions
{
    public const string SectionName = "Calhook:Coordination";

    /// <summary>
    /// How long a lease (a calendar's sync, the channel renewals) stays with an instance that stopped renewing it,
    /// i.e. how long a dead instance's work waits before another instance takes it. Holders renew every third of it.
    /// Default 15 seconds; at least 1 second. Keep it far below the channel renewal margin
    /// (<c>Calhook:Channels:RenewalMargin</c>), so a dead instance's channels are renewed by another before they expire.
    /// A webhook attempt's lease lasts <c>Calhook:Delivery:AttemptTimeout</c> plus this.
    /// </summary>
    public TimeSpan LeaseTimeToLive { get; set; } = TimeSpan.FromSeconds(15);
}
