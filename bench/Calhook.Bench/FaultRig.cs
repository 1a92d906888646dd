using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Calhook.Bench;

/// <summary>
/// <c>calhook serve</c> in a child process (the calhook.dll this benchmark is built with), against the emulator, with
/// short retry and safety-net periods so a run converges in seconds; killed with SIGKILL, never stopped politely.
/// </summary>
internal sealed class ServiceProcess
{
    private readonly Process _process;
    private int _killed;

    private ServiceProcess(Process process) => _process = process;

    public static async Task<ServiceProcess> StartAsync(Uri emulator, Uri service, string data, string apiKey)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "calhook.dll"), "serve",
            "--google-url", emulator.ToString().TrimEnd('/'), "--data", data, "--urls", service.ToString().TrimEnd('/'),
        })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["CALHOOK_API_KEY"] = apiKey;
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Calhook__Sync__SafetyNetInterval"] = "00:00:05";
        info.Environment["Calhook__Sync__RetryDelay"] = "00:00:00.500";
        info.Environment["Calhook__Google__RetryBaseDelay"] = "00:00:00.100";
        info.Environment["Calhook__Google__MaxRetryDelay"] = "00:00:02";
        info.Environment["Calhook__Delivery__AllowPrivateNetworks"] = "true";
        info.Environment["Calhook__Delivery__InstanceId"] = "faults-bench";

        // About two minutes of retries in all: longer than the subscriber's outage, so nothing is given up on.
        var delays = new[] { 0.25, 0.5, 1, 2, 4, 4, 4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8 };
        for (var i = 0; i < delays.Length; i++)
        {
            info.Environment[$"Calhook__Delivery__RetryDelays__{i}"] = TimeSpan.FromSeconds(delays[i]).ToString("c", CultureInfo.InvariantCulture);
        }

        var process = Process.Start(info)!;
        var log = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = service, Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"calhook serve exited with {process.ExitCode}:\n{Text(log)}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return new ServiceProcess(process);
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(1))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"calhook serve did not answer /healthz within a minute:\n{Text(log)}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _killed, 1) == 1)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static void Append(StringBuilder log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.AppendLine(line);
        }
    }

    private static string Text(StringBuilder log)
    {
        lock (log)
        {
            return log.ToString();
        }
    }
}
