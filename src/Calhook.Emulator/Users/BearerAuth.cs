using Calhook.Emulator.Faults;
using Calhook.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace Calhook.Emulator.Users;

/// <summary>
/// The filter in front of every <c>/calendar/v3</c> endpoint: Google's 401 for a missing or unknown bearer token,
/// then the API fault knobs (5xx, rate limits, forced 410).
/// </summary>
internal static class BearerAuth
{
    private const string UserKey = "calhook.emulator.user";

    public static string User(this HttpContext context) => (string)context.Items[UserKey]!;

    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var users = http.RequestServices.GetService(typeof(UserDirectory)) as UserDirectory;
        var header = http.Request.Headers.Authorization.ToString();
        string? token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim()
            : http.Request.Query["access_token"].ToString() is { Length: > 0 } q ? q : null;
        if (string.IsNullOrEmpty(token))
        {
            return GoogleError.LoginRequired().ToResult();
        }

        if (users!.Authenticate(token) is not { } user)
        {
            return GoogleError.InvalidCredentials().ToResult();
        }

        http.Items[UserKey] = user;
        var faults = (FaultInjector)http.RequestServices.GetService(typeof(FaultInjector))!;
        var incrementalList = HttpMethods.IsGet(http.Request.Method) && http.Request.Query.ContainsKey("syncToken");
        if (faults.ApiFault(incrementalList) is { } fault)
        {
            return fault.ToResult();
        }

        return await next(context);
    }
}
