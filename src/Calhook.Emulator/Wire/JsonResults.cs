using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Calhook.Emulator.Wire;

/// <summary>Writes JSON straight to the response with Google's content type.</summary>
internal static class JsonResults
{
    public static IResult Node(JsonNode node, int status = 200) => new WriterResult(status, w => node.WriteTo(w));

    public static IResult Raw(byte[] utf8Json) => new WriterResult(200, w => w.WriteRawValue(utf8Json, skipInputValidation: true));

    public static IResult Write(Action<Utf8JsonWriter> write, int status = 200) => new WriterResult(status, write);

    private sealed class WriterResult(int status, Action<Utf8JsonWriter> write) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "application/json; charset=UTF-8";
            await using var writer = new Utf8JsonWriter(httpContext.Response.Body);
            write(writer);
            await writer.FlushAsync(httpContext.RequestAborted);
        }
    }
}
