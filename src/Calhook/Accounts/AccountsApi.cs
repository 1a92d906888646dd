using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Accounts;

internal static class AccountsApi
{
    public static IServiceCollection AddCalhookAccounts(this IServiceCollection services) => services;

    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder endpoints) => endpoints;
}
