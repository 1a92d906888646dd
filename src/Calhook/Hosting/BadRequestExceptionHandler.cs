using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Calhook.Hosting;

/// <summary>
/// Answers a request the framework could not bind (malformed JSON, a missing body, a wrong content type) with its
/// own status, 400 or 415, as problem+json that says what was wrong. Other exceptions fall through to the generic
/// 500 problem, which names nothing internal.
/// </summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        // The framework's own messages name the handler's parameter and its type ("CreateWatchRequest request"), which
        // are internal: the answer says what the client can fix, and where the JSON broke.
        var detail = badRequest switch
        {
            { InnerException: JsonException json } =>
                $"The request body is not valid JSON, or not the JSON this endpoint expects (Path: {json.Path ?? "$"}, line {json.LineNumber ?? 0}, byte {json.BytePositionInLine ?? 0}).",
            { StatusCode: StatusCodes.Status413PayloadTooLarge } => "The request body is larger than this endpoint accepts.",
            { StatusCode: StatusCodes.Status415UnsupportedMediaType } => "Send the request body as JSON (Content-Type: application/json).",
            _ => "The request body is missing or is not the JSON this endpoint expects.",
        };
        httpContext.Response.StatusCode = badRequest.StatusCode;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = badRequest.StatusCode, Title = "Bad request", Detail = detail },
        });
    }
}
