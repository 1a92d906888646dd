using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Calhook.Bench;

/// <summary>
/// The server's own ack time of each ping: from the moment the request reaches the first middleware until the
/// response is complete, measured inside the server. It excludes the client's and the kernel's queueing, which on
/// a 2-core machine that also runs the emulator and the load are mostly the machine's scheduling, not the receiver.
/// Installed the same way in the bare endpoint and in Calhook, so both are measured alike.
/// </summary>
internal sealed class AckTimer : IStartupFilter
{
    private readonly Lock _gate = new();
    private List<double>? _recording;

    /// <summary>Starts recording (and drops what was recorded before).</summary>
    public void Start()
    {
        lock (_gate)
        {
            _recording = [];
        }
    }

    /// <summary>Stops recording and returns the ack times in milliseconds.</summary>
    public List<double> Stop()
    {
        lock (_gate)
        {
            var recorded = _recording ?? [];
            _recording = null;
            return recorded;
        }
    }

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        Use(app);
        next(app);
    };

    public void Use(IApplicationBuilder app) => app.Use(async (HttpContext context, RequestDelegate next) =>
    {
        var started = TimeProvider.System.GetTimestamp();
        await next(context);
        await context.Response.CompleteAsync();
        var elapsed = TimeProvider.System.GetElapsedTime(started).TotalMilliseconds;
        lock (_gate)
        {
            _recording?.Add(elapsed);
        }
    });
}
