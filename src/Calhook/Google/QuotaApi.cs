using Calhook.Hosting;
using Calhook.Sync;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Calhook.Google;

internal static class QuotaApi
{
    /// <summary><c>GET /v1/quota</c>: Google's request budget, what the current windows hold, and the safety net's interval.</summary>
    public static IEndpointRouteBuilder MapQuota(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v1/quota", GetQuota).RequireCalhookApiKey();
        return endpoints;
    }

    private static Ok<QuotaView> GetQuota(RequestBudget budget, IOptions<SyncOptions> sync)
    {
        var usage = budget.Usage();
        var limits = budget.Limits;
        var configured = sync.Value.SafetyNetInterval;
        var current = budget.CurrentSafetyNetInterval > TimeSpan.Zero ? budget.CurrentSafetyNetInterval : configured;
        return TypedResults.Ok(new QuotaView(
            new QuotaWindow(usage.ProjectMinute, limits.RequestsPerMinute),
            new QuotaWindow(usage.ProjectDay, limits.RequestsPerDay),
            new QuotaWindow(usage.BusiestUserMinute, limits.RequestsPerMinutePerUser),
            limits.RequestsPerDayPerUser,
            new Dictionary<string, long>
            {
                ["push"] = usage.WaitsByPriority[(int)GoogleRequestPriority.Push],
                ["renewal"] = usage.WaitsByPriority[(int)GoogleRequestPriority.Renewal],
                ["catchUp"] = usage.WaitsByPriority[(int)GoogleRequestPriority.CatchUp],
                ["safetyNet"] = usage.WaitsByPriority[(int)GoogleRequestPriority.SafetyNet],
            },
            new SafetyNetView(configured.TotalSeconds, current.TotalSeconds, current > configured)));
    }

    /// <summary>The budget as <c>GET /v1/quota</c> shows it; windows are sliding.</summary>
    internal sealed record QuotaView(
        QuotaWindow ProjectMinute,
        QuotaWindow ProjectDay,
        QuotaWindow BusiestAccountMinute,
        long PerAccountDayLimit,
        IReadOnlyDictionary<string, long> Waits,
        SafetyNetView SafetyNet);

    internal sealed record QuotaWindow(long Used, long Limit);

    internal sealed record SafetyNetView(double ConfiguredSeconds, double CurrentSeconds, bool Stretched);
}
