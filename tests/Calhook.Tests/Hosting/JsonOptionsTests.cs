using Calhook.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Calhook.Tests.Hosting;

public sealed class JsonOptionsTests
{
    public sealed record Shape(string DisplayName, string? Missing);

    [Fact]
    public async Task Responses_are_camel_case_and_leave_out_nulls()
    {
        await using var host = await CalhookTestHost.StartAsync(new CalhookTestHostOptions
        {
            ConfigureApp = app => app.MapGet("/test/shape", () => TypedResults.Ok(new Shape("Ada", null))),
        });

        var json = await host.Client.GetStringAsync(new Uri("test/shape", UriKind.Relative));

        Assert.Equal("{\"displayName\":\"Ada\"}", json);
    }
}
