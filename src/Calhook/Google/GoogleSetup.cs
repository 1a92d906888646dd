using System.Diagnostics.Metrics;
using System.Net;
using Calhook.Hosting;
using Calhook.Sync;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Calhook.Google;

internal static class GoogleSetup
{
    public static IServiceCollection AddCalhookGoogle(this IServiceCollection services)
    {
        services.AddOptions<GoogleClientOptions>()
            .BindConfiguration(GoogleClientOptions.SectionName)
            .Validate(o => o.RequestsPerMinutePerUser > 0, "Calhook:Google:RequestsPerMinutePerUser must be positive.")
            .Validate(o => o.RequestsPerMinute > 0, "Calhook:Google:RequestsPerMinute must be positive.")
            .Validate(o => o.RequestsPerDay > 0, "Calhook:Google:RequestsPerDay must be positive.")
            .Validate(o => o.RequestsPerDayPerUser >= 0, "Calhook:Google:RequestsPerDayPerUser must be zero (no limit) or positive.")
            .Validate(o => o.MaxRetryAttempts >= 0, "Calhook:Google:MaxRetryAttempts must not be negative.")
            .Validate(o => o.EventsPageSize is >= 1 and <= 2500, "Calhook:Google:EventsPageSize must be between 1 and 2500.")
            .Validate(o => string.IsNullOrWhiteSpace(o.BaseUrl) || Hosting.CalhookOptionsValidator.IsHttpUrl(o.BaseUrl),
                "Calhook:Google:BaseUrl must be an absolute http(s) URL.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var budget = new RequestBudget(sp.GetRequiredService<IOptions<GoogleClientOptions>>().Value.BudgetLimits, sp.GetRequiredService<TimeProvider>())
            {
                Refused = sp.GetService<CalhookMetrics>() is { } metrics ? priority => metrics.BudgetWait(PriorityName(priority)) : null,
            };
            if (sp.GetService<IMeterFactory>() is { } meters)
            {
                var sync = sp.GetRequiredService<IOptions<SyncOptions>>();
                BudgetMetrics.Observe(meters, budget, () => sync.Value.SafetyNetInterval);
            }

            return budget;
        });
        // Registered before the services that call Google, so their first request counts what earlier processes spent.
        services.AddHostedService<BudgetJournal>();
        services.AddTransient<RequestBudgetHandler>();
        services.AddTransient<GoogleMetricsHandler>();
        services.AddSingleton<GoogleCalendarClient>();
        services.AddSingleton<GoogleQuota>();

        var http = services.AddHttpClient(GoogleCalendarClient.HttpClientName, (sp, client) =>
            {
                var options = sp.GetRequiredService<IOptions<GoogleClientOptions>>().Value;
                client.BaseAddress = options.ApiBaseAddress;
                // The pipeline's own timeouts govern each attempt and the whole call.
                client.Timeout = Timeout.InfiniteTimeSpan;
            });
        http.AddResilienceHandler("google", (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<GoogleClientOptions>>().Value;
                if (options.MaxRetryAttempts == 0)
                {
                    // No retries: Polly's retry strategy refuses 0 attempts, so there is none; the syncs' own backoff
                    // still retries a failed sync later.
                    pipeline.AddTimeout(options.AttemptTimeout);
                    return;
                }

                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetryAttempts,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = options.RetryBaseDelay,
                    MaxDelay = options.MaxRetryDelay,
                    ShouldRetryAfterHeader = true,
                    ShouldHandle = args => ShouldRetryAsync(args.Outcome),
                });
                pipeline.AddTimeout(options.AttemptTimeout);
            });
        // Added after the resilience handler, so it runs inside it: every attempt waits for the budget.
        http.AddHttpMessageHandler<RequestBudgetHandler>();
        http.AddHttpMessageHandler<GoogleMetricsHandler>();
        services.AddHostedService<GoogleClientWarmup>();
        return services;
    }

    private static string PriorityName(GoogleRequestPriority priority) => priority switch
    {
        GoogleRequestPriority.Push => "push",
        GoogleRequestPriority.Renewal => "renewal",
        GoogleRequestPriority.CatchUp => "catch_up",
        _ => "safety_net",
    };

    /// <summary>
    /// Retried: 429, 403 with a short-window rate-limit reason, 5xx, 408 and failed connections. Not retried: 401 (the
    /// client refreshes the token), a spent quota (403 <c>dailyLimitExceeded</c>/<c>quotaExceeded</c>: it resets only
    /// later, see <see cref="GoogleQuota"/>), 404, 410 and other 4xx, which retrying cannot fix.
    /// </summary>
    private static async ValueTask<bool> ShouldRetryAsync(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Exception is not null)
        {
            return outcome.Exception is HttpRequestException or TimeoutException or Polly.Timeout.TimeoutRejectedException;
        }

        var response = outcome.Result!;
        var status = (int)response.StatusCode;
        if (status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)
        {
            return true;
        }

        if (response.StatusCode != HttpStatusCode.Forbidden)
        {
            return false;
        }

        // ReadAsStringAsync buffers the content, so the client can still read it if this is the last attempt.
        var body = await response.Content.ReadAsStringAsync();
        var error = GoogleErrors.Parse(body);
        return GoogleErrors.IsRateLimit(status, error?.Errors?.FirstOrDefault(e => e.Reason is not null)?.Reason);
    }
}
