namespace Calhook.Delivery;

/// <summary>Webhook delivery settings, section <c>Calhook:Delivery</c>. Validated at start-up.</summary>
public sealed class DeliveryOptions
{
    public const string SectionName = "Calhook:Delivery";

    /// <summary>
    /// Lets subscriptions reach loopback, link-local, private and unspecified addresses (local development, tests).
    /// Default false: such addresses are refused at connect time, whatever name resolved to them.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>The default retry waits: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 hours in all).</summary>
    public static IReadOnlyList<TimeSpan> DefaultRetryDelays { get; } =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>
    /// The waits before each retry; the first attempt is made at once, so a change gets one attempt more than there are
    /// waits. Unset (the default) means <see cref="DefaultRetryDelays"/>. Null rather than a filled array because
    /// configuration binding appends to an array it finds, where a configured list must replace the default.
    /// </summary>
    public TimeSpan[]? RetryDelays { get; set; }

    /// <summary>The waits in force: <see cref="RetryDelays"/> when set, else <see cref="DefaultRetryDelays"/>.</summary>
    public IReadOnlyList<TimeSpan> EffectiveRetryDelays => RetryDelays is { Length: > 0 } delays ? delays : DefaultRetryDelays;

    /// <summary>Each wait is randomised by up to this fraction either way (0.2 = ±20 %). Default 0.2.</summary>
    public double RetryJitter { get; set; } = 0.2;

    /// <summary>How long one attempt may take, connect to last response byte. Default 15 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How much of a response body is read (kept for the attempt log's error). Default 64 KiB.</summary>
    public int MaxResponseBodyBytes { get; set; } = 64 * 1024;

    /// <summary>How many attempts may be in flight at once, over all subscriptions. Default 64.</summary>
    public int MaxConcurrentAttempts { get; set; } = 64;

    /// <summary>How long the old secret keeps signing after a rotation. Default 24 h.</summary>
    public TimeSpan SecretRotationOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How many of each subscription's newest attempts the attempt log keeps; older ones are pruned. Default 1000.
    /// Pruning runs about once a minute, so the log may briefly hold a minute's attempts more.
    /// </summary>
    public int AttemptLogMaxPerSubscription { get; set; } = 1000;

    /// <summary>How long an attempt stays in the attempt log, whatever their number. Default 30 days.</summary>
    public TimeSpan AttemptLogMaxAge { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// The name this instance leases deliveries under. Stable across restarts, so a restarted instance takes its own
    /// unfinished attempts back at once; another instance takes them when their lease ends. Default: the machine name.
    /// Instances sharing a PostgreSQL store need distinct ones (set it when several run on one host).
    /// </summary>
    public string InstanceId { get; set; } = Environment.MachineName;
}
