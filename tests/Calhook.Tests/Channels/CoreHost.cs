using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Channels;
using Calhook.Receiving;
using Calhook.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Calhook.Tests.Channels;

/// <summary>
/// The shared <see cref="CalhookTestHost"/> pointed at an emulator, with fast retry settings and counters of what
/// the receiver accepted or refused. A fixed port can be passed to restart on the same public URL (the address open
/// channels point at).
/// </summary>
internal sealed class CoreHost : IAsyncDisposable
{
    public const string ApiKey = "test-api-key-0123456789";
    private readonly CalhookTestHost _host;
    private readonly MeterListener _listener = new();
    private long _accepted;
    private long _acceptedExists;
    private long _refused;
    private long _unknown;

    private CoreHost(CalhookTestHost host)
    {
        _host = host;
        BaseAddress = host.BaseAddress;
        Port = host.BaseAddress.Port;
        Client = host.Client;
        // Only this host's meters: other hosts run in parallel in the same process.
        var meters = host.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ReceiverMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? outcome = null, state = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome")
                {
                    outcome = tag.Value as string;
                }

                if (tag.Key == "state")
                {
                    state = tag.Value as string;
                }
            }

            switch (outcome)
            {
                case ReceiverMetrics.Outcomes.Accepted:
                    Interlocked.Add(ref _accepted, value);
                    if (state == "exists")
                    {
                        Interlocked.Add(ref _acceptedExists, value);
                    }

                    break;
                case ReceiverMetrics.Outcomes.Unknown:
                    Interlocked.Add(ref _unknown, value);
                    break;
                default:
                    Interlocked.Add(ref _refused, value);
                    break;
            }
        });
        _listener.Start();
    }

    public Uri BaseAddress { get; }

    public int Port { get; }

    /// <summary>An HTTP client for the admin API, with the API key.</summary>
    public HttpClient Client { get; }

    public IServiceProvider Services => _host.Services;

    public long Accepted => Interlocked.Read(ref _accepted);

    public long AcceptedExists => Interlocked.Read(ref _acceptedExists);

    public long Refused => Interlocked.Read(ref _refused);

    public long Unknown => Interlocked.Read(ref _unknown);

    public static async Task<CoreHost> StartAsync(
        Uri emulator, TestDirectory data, int? port = null, IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var options = new CalhookTestHostOptions
        {
            GoogleBaseUrl = emulator,
            DataDirectory = data.Path,
            Port = port,
            ConfigureServices = time is null ? null : services => services.AddSingleton(time),
        };
        foreach (var (key, value) in new Dictionary<string, string?>
        {
            ["Calhook:ApiKey"] = ApiKey,
            ["Calhook:Google:RetryBaseDelay"] = "00:00:00.050",
            ["Calhook:Google:MaxRetryDelay"] = "00:00:00.500",
            ["Calhook:Google:MaxRetryAttempts"] = "8",
            ["Calhook:Channels:RetryBaseDelay"] = "00:00:00.200",
            ["Calhook:Channels:RetryMaxDelay"] = "00:00:02",
            ["Calhook:Receiving:FlushInterval"] = "00:00:00.100",
            ["Calhook:Sync:SafetyNetInterval"] = "01:00:00",
        }.Concat(settings ?? new Dictionary<string, string?>()))
        {
            options.Settings[key] = value;
        }

        return new CoreHost(await CalhookTestHost.StartAsync(options));
    }

    /// <summary>Connects an emulator user as an OAuth account; returns the account id.</summary>
    public async Task<string> AddOAuthAccountAsync(EmulatorClient emulator, string user)
    {
        var tokens = await emulator.Control.CreateTokensAsync(user);
        var response = await Client.PostAsJsonAsync("v1/accounts", new { type = "oauth", email = user, refreshToken = tokens.RefreshToken });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<string>();
    }

    public async Task<JsonObject> WatchAsync(string accountId, string calendarId)
    {
        var response = await Client.PostAsJsonAsync("v1/watches", new { accountId, calendarId });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    public async Task<JsonObject> GetWatchAsync(string watchId) =>
        (await Client.GetFromJsonAsync<JsonObject>($"v1/watches/{watchId}"))!;

    /// <summary>Polls the watch until its status is the given one.</summary>
    public async Task<JsonObject> WaitForStatusAsync(string watchId, string status, TimeSpan? timeout = null)
    {
        JsonObject? last = null;
        await Polling.EventuallyAsync(async () => (last = await GetWatchAsync(watchId))["status"]!.GetValue<string>() == status, timeout ?? TimeSpan.FromSeconds(15), () => $"watch {watchId} never reached '{status}': {last?.ToJsonString()}");
        return last!;
    }

    public ChannelMap Channels => Services.GetRequiredService<ChannelMap>();

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _host.DisposeAsync();
    }
}
