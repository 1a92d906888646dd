using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Calhook.Emulator.Wire;

/// <summary>Reads a JSON request body with a size cap; every failure is Google's 400, never an exception.</summary>
internal static class RequestBody
{
    /// <summary>The largest body the controls under <c>/emulator/v1/</c> read (1 MiB).</summary>
    public const int ControlMaxBytes = 1 << 20;

    public static async Task<(JsonObject? Body, GoogleError? Error)> ReadObjectAsync(HttpRequest request, int maxBytes,
        CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return (null, GoogleError.Invalid("Request body too large."));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return (null, GoogleError.Invalid("Request body too large."));
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            return (null, GoogleError.Required("Required"));
        }

        try
        {
            var node = JsonNode.Parse(buffer.ToArray(), documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
            return node is JsonObject body ? (body, null) : (null, GoogleError.ParseError());
        }
        catch (JsonException)
        {
            return (null, GoogleError.ParseError());
        }
    }
}
