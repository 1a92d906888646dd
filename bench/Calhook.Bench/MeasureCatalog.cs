namespace Calhook.Bench;

/// <summary>
/// The measures the design names (docs/operations.md and bench/README.md list them), with the group that takes each
/// and its target: the runner reports every one of them, measured or not, so none is silently omitted.
/// </summary>
internal static class MeasureCatalog
{
    public static readonly (string Name, string Group, string Target)[] Named =
    [
        ("receiver-throughput", "receiver", ">= 0.8 of bare"),
        ("receiver-ack-p99-ms", "receiver", "< 2 ms"),
        ("list-calls-per-100-pings", "list calls", "<= 2"),
        ("e2e-latency-p50-ms", "e2e latency", "<= 20 ms"),
        ("e2e-latency-p99-ms", "e2e latency", "<= 100 ms"),
        ("full-sync-100k-vs-paging", "full sync", "<= 1.5x paging"),
        ("full-sync-100k-peak-mb", "full sync", "<= 200 MB"),
        ("steady-memory-10k-watches-mb", "scale", "<= 300 MB"),
        ("quota-peak-vs-budget", "scale", "<= 1.0"),
        ("e2e-latency-p99-ms-postgres", "e2e latency postgres", "<= 100 ms"),
        ("faults-lost", "faults", "0"),
        ("faults-duplicated", "faults", "0"),
        ("faults-spurious", "faults", "0"),

        // Not named by the design, but reported by every full run: listed too when a mode leaves them out.
        ("receiver-ack-p99-client-ms", "receiver", "close to bare"),
        ("sequential-latency-p50-ms", "probe", "informational"),
        ("sequential-latency-p95-ms", "probe", "informational"),
        ("back-to-back-latency-p95-ms", "probe", "informational"),
        ("startup-10k-watches-s", "scale", "close to the budget's floor (requests / budget)"),
        ("restart-10k-watches-s", "scale", "reported"),
        ("scale-changes-lost", "scale", "0"),
        ("faults-out-of-order", "faults", "0"),
    ];

    /// <summary>Why a measure whose group this build does not have is not measured.</summary>
    public static string NotBuilt(string group) => group switch
    {
        _ => $"not built: no '{group}' group in this build",
    };
}
