using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Calhook.Emulator.Wire;

/// <summary>Google's error body: <c>{"error":{"errors":[{domain,reason,message,…}],"code","message"}}</c>.</summary>
internal sealed record GoogleError(int Code, string Domain, string Reason, string Message,
    string? Location = null, string? LocationType = null, string? Status = null)
{
    public static GoogleError ParseError() => new(400, "global", "parseError", "Parse Error");
    public static GoogleError Invalid(string message = "Invalid Value", string? parameter = null) =>
        new(400, "global", "invalid", message, parameter, parameter is null ? null : "parameter");
    public static GoogleError Required(string message) => new(400, "global", "required", message);
    public static GoogleError NotFound() => new(404, "global", "notFound", "Not Found");
    public static GoogleError Deleted() => new(410, "global", "deleted", "Resource has been deleted");
    public static GoogleError Duplicate() => new(409, "global", "duplicate", "The requested identifier already exists.");
    public static GoogleError ConditionNotMet() =>
        new(412, "global", "conditionNotMet", "Precondition Failed", "If-Match", "header");
    public static GoogleError FullSyncRequired() => new(410, "calendar", "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.", "syncToken", "parameter");
    public static GoogleError TimeRangeEmpty(string location) =>
        new(400, "calendar", "timeRangeEmpty", "The specified time range is empty.", location, "parameter");
    public static GoogleError Forbidden(string message = "Forbidden") => new(403, "global", "forbidden", message);
    public static GoogleError RequiredAccessLevel() =>
        new(403, "calendar", "requiredAccessLevel", "You need to have writer access to this calendar.");

    public static GoogleError LoginRequired() => new(401, "global", "required", "Login Required.", "Authorization", "header",
        "UNAUTHENTICATED");

    public static GoogleError InvalidCredentials() => new(401, "global", "authError", "Invalid Credentials", "Authorization",
        "header", "UNAUTHENTICATED");

    public static GoogleError RateLimit(int code) => new(code, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded");
    public static GoogleError Backend(int code) => new(code, "global", "backendError", "Backend Error");

    /// <summary>The top-level message: Google's long form for auth errors, else the item's message.</summary>
    private string TopMessage => Code == 401
        ? (Reason == "required" ? "Request is missing required authentication credential." : "Request had invalid authentication credentials.")
          + " Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
        : Message;

    public IResult ToResult() => new GoogleErrorResult(this);

    public void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteStartArray("errors");
        writer.WriteStartObject();
        writer.WriteString("domain", Domain);
        writer.WriteString("reason", Reason);
        writer.WriteString("message", Message);
        if (LocationType is not null)
        {
            writer.WriteString("locationType", LocationType);
        }

        if (Location is not null)
        {
            writer.WriteString("location", Location);
        }

        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteNumber("code", Code);
        writer.WriteString("message", TopMessage);
        if (Status is not null)
        {
            writer.WriteString("status", Status);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private sealed class GoogleErrorResult(GoogleError error) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = error.Code;
            httpContext.Response.ContentType = "application/json; charset=UTF-8";
            if (error.Code == 401)
            {
                httpContext.Response.Headers.WWWAuthenticate = "Bearer realm=\"https://accounts.google.com/\"";
            }

            await using (var writer = new Utf8JsonWriter(httpContext.Response.Body))
            {
                error.WriteTo(writer);
            }
        }
    }
}
