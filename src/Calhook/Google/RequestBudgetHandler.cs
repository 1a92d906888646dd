namespace Calhook.Google;

/// <summary>
/// Makes every attempt to Google wait for the <see cref="RequestBudget"/>. It sits inside the retry handler, so retries
/// spend the same budget as first attempts. Requests wait instead of failing: slower, never refused.
/// </summary>
internal sealed class RequestBudgetHandler(RequestBudget budget) : DelegatingHandler
{
    /// <summary>The request option naming the account a request is made for.</summary>
    public static readonly HttpRequestOptionsKey<string> AccountKey = new("calhook.account");

    private static readonly AsyncLocal<GoogleRequestPriority?> Ambient = new();

    /// <summary>The priority of the requests made in the current async flow; <see cref="GoogleRequestPriority.Push"/> unless set.</summary>
    public static GoogleRequestPriority CurrentPriority => Ambient.Value ?? GoogleRequestPriority.Push;

    /// <summary>
    /// Makes the requests of the current async flow (and the flows it starts) count as <paramref name="priority"/>
    /// until the returned scope is disposed. The scheduler and the channel supervisor set it around their work.
    /// </summary>
    public static IDisposable WithPriority(GoogleRequestPriority priority)
    {
        var previous = Ambient.Value;
        Ambient.Value = priority;
        return new Scope(previous);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var account = request.Options.TryGetValue(AccountKey, out var value) ? value : "";
        await budget.AcquireAsync(account, CurrentPriority, cancellationToken);
        return await base.SendAsync(request, cancellationToken);
    }

    private sealed class Scope(GoogleRequestPriority? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}
