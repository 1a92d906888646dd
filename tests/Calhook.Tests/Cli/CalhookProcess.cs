using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Calhook.TestKit;

namespace Calhook.Tests.Cli;

/// <summary>The real <c>calhook</c> executable in a child process: started, awaited, killed.</summary>
internal sealed class CalhookProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _standardOutput = new();
    private int _disposed;

    private CalhookProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(e.Data, standardOutput: true);
        process.ErrorDataReceived += (_, e) => Append(e.Data, standardOutput: false);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>What the process wrote to stdout alone: the result a script reads, without stderr's progress lines.</summary>
    public string StandardOutput
    {
        get
        {
            lock (_output)
            {
                return _standardOutput.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The operating system's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Starts <c>dotnet calhook.dll ARGS</c> in the test's output folder (the Cli project is referenced).</summary>
    public static CalhookProcess Start(params string[] arguments) => Start(new Dictionary<string, string>(), arguments);

    /// <summary>As <see cref="Start(string[])"/>, with extra environment variables (<c>TZDIR</c>).</summary>
    public static CalhookProcess Start(IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        StartIn(AppContext.BaseDirectory, environment, arguments);

    /// <summary>Starts <c>dotnet calhook.dll ARGS</c> with <paramref name="workingDirectory"/> as its working directory.</summary>
    public static CalhookProcess StartIn(string workingDirectory, params string[] arguments) =>
        StartIn(workingDirectory, new Dictionary<string, string>(), arguments);

    private static CalhookProcess StartIn(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "calhook.dll"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment.Remove("CALHOOK_API_KEY");
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return new CalhookProcess(Process.Start(info)!);
    }

    /// <summary>
    /// A free port below Linux's ephemeral range (32768+), where the in-process hosts of parallel tests, which bind
    /// port 0, never land: a restarted process can take its port back without another test having grabbed it.
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }
    }

    /// <summary>Waits until this process says it runs and <c>/healthz</c> answers 200, failing early if it exits.</summary>
    public async Task WaitUntilHealthyAsync(Uri baseAddress, TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(2) };
        await Polling.EventuallyAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"calhook exited with {_process.ExitCode}:\n{Output}");
            }

            if (!Output.Contains("Calhook is running at", StringComparison.Ordinal))
            {
                return false;
            }

            using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
            return response.StatusCode == HttpStatusCode.OK;
        }, timeout, $"calhook at {baseAddress} answers /healthz");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>A real kill (SIGKILL), as a crash: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        // Idempotent: a test's finally may dispose a process its body already disposed before a restart failed.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await KillAsync();
        _process.Dispose();
    }

    private void Append(string? line, bool standardOutput)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
            if (standardOutput)
            {
                _standardOutput.AppendLine(line);
            }
        }
    }
}
