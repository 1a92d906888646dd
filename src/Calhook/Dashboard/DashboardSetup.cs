using Calhook.Accounts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Dashboard;

/// <summary>The dashboard at <c>/</c>, its login, the connect flow and the account pages.</summary>
internal static class DashboardSetup
{
    public static IServiceCollection AddCalhookDashboard(this IServiceCollection services)
    {
        DashboardSession.AddCookie(services.AddAuthentication());
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "calhook_antiforgery";
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
        });
        return services;
    }

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapLogin();
        endpoints.MapConnect();
        endpoints.MapDashboardPages();
        endpoints.MapSubscriptionForms();
        endpoints.MapAccountPage();
        return endpoints;
    }
}
