using System.Net;
using System.Net.Sockets;
using Calhook.Hosting;
using Calhook.PostgreSql;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Calhook.Cli.Commands;

/// <summary>Builds the Calhook web application the way <c>serve</c> and <c>demo</c> run it.</summary>
internal static class CalhookApp
{
    /// <summary>
    /// Settings from appsettings.json in the working directory and the environment, overridden by <paramref name="overrides"/> (the command line).
    /// Listens on <paramref name="url"/>; a port of 0 is replaced by a free port first, because the public URL
    /// (the watch address Google calls) must be known before the first channel opens.
    /// </summary>
    public static WebApplication Build(string url, IDictionary<string, string?> overrides, bool quiet = false)
    {
        var listenUrl = ResolvePort(url);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = Calhook.Hosting.HostingSetup.ReadSettingsOnce,
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        builder.Configuration.AddInMemoryCollection(overrides);
        if (string.IsNullOrWhiteSpace(builder.Configuration["Calhook:PublicUrl"]))
        {
            builder.Configuration["Calhook:PublicUrl"] = listenUrl.TrimEnd('/');
        }

        // Per-request framework logs drown Calhook's own; appsettings.json can still turn them back on.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        // A start-up failure is reported by the command as one line ("calhook: cannot start: …"); the host's own
        // report of it would add the exception's stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        if (quiet)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        }

        builder.WebHost.UseUrls(listenUrl);
        builder.Services.AddCalhook(builder.Configuration);
        if (!string.IsNullOrWhiteSpace(builder.Configuration["Calhook:Postgres:ConnectionString"]))
        {
            // `--postgres` or Calhook:Postgres:ConnectionString: the store, the key ring and change wake-ups move to PostgreSQL.
            builder.Services.AddCalhookPostgreSql();
        }

        var app = builder.Build();
        app.MapCalhook();
        return app;
    }

    private static string ResolvePort(string url)
    {
        var uri = new Uri(url);
        if (uri.Port != 0)
        {
            return url;
        }

        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        var port = ((IPEndPoint)socket.LocalEndpoint).Port;
        socket.Stop();
        return new UriBuilder(uri) { Port = port }.Uri.ToString().TrimEnd('/');
    }
}
