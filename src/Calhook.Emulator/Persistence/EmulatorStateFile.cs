using System.Text.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator.Calendars;
using Calhook.Emulator.Channels;
using Calhook.Emulator.Events;
using Calhook.Emulator.Users;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Calhook.Emulator.Persistence;

/// <summary>
/// Keeps the emulator's state in <see cref="EmulatorOptions.StateFile"/> when one is set: users and their tokens,
/// service accounts, calendars with their events and history, open channels, and what keeps sync tokens valid (the
/// instance id and the issue counter). Loaded before the emulator serves anything; saved as one JSON document, written
/// to a temporary file and renamed over the old one (a crash leaves the old or the new file, never half of one), at
/// most every <see cref="SaveInterval"/> while something changed, and once more at shutdown.
/// </summary>
internal sealed partial class EmulatorStateFile : IHostedLifecycleService, IDisposable
{
    public const int FormatVersion = 1;

    /// <summary>How often changed state is written at most.</summary>
    public static readonly TimeSpan SaveInterval = TimeSpan.FromMilliseconds(500);

    private readonly EmulatorRuntime _runtime;
    private readonly UserDirectory _users;
    private readonly ServiceAccounts _serviceAccounts;
    private readonly CalendarStore _calendars;
    private readonly ListTokens _tokens;
    private readonly ChannelRegistry _channels;
    private readonly NotificationDispatcher _dispatcher;
    private readonly ILogger<EmulatorStateFile> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _saveGate = new();
    private Task? _loop;
    private long _savedVersion = -1;

    public EmulatorStateFile(EmulatorRuntime runtime, UserDirectory users, ServiceAccounts serviceAccounts, CalendarStore calendars,
        ListTokens tokens, ChannelRegistry channels, NotificationDispatcher dispatcher, ChangeSignal signal, ILogger<EmulatorStateFile> logger)
    {
        _runtime = runtime;
        _users = users;
        _serviceAccounts = serviceAccounts;
        _calendars = calendars;
        _tokens = tokens;
        _channels = channels;
        _dispatcher = dispatcher;
        _logger = logger;
        signal.Changed += _ => runtime.MarkChanged();
        calendars.CalendarListChanged += _ => runtime.MarkChanged();
    }

    private string? StatePath => _runtime.Options.StateFile;

    /// <summary>Loads the state file, if there is one, before any hosted service starts or request arrives.</summary>
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        if (StatePath is not { } path)
        {
            return Task.CompletedTask;
        }

        if (File.Exists(path))
        {
            Load(path);
        }

        _savedVersion = _runtime.Version;
        _loop = Task.Run(() => SaveLoopAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Stops the loop and writes the final state.</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        if (_loop is null)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _loop;
        SaveIfChanged();
    }

    public void Dispose()
    {
        _stopping.Dispose();
    }

    private async Task SaveLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(SaveInterval, _runtime.Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    SaveIfChanged();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    LogSaveFailed(_logger, StatePath!, ex);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Writes the state when it changed since the last write: to a temporary file, flushed to disk, then renamed over the old one.</summary>
    private void SaveIfChanged()
    {
        lock (_saveGate)
        {
            var version = _runtime.Version;
            if (version == _savedVersion)
            {
                return;
            }

            var path = StatePath!;
            var temporary = path + ".tmp";
            var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var file = new FileStream(temporary, create))
            {
                using (var writer = new Utf8JsonWriter(file))
                {
                    Write(writer);
                }

                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            _savedVersion = version;
        }
    }

    private void Write(Utf8JsonWriter json)
    {
        var now = _runtime.Clock.GetUtcNow();
        json.WriteStartObject();
        json.WriteNumber("version", FormatVersion);
        json.WriteString("instanceId", _runtime.InstanceId);
        json.WriteNumber("issued", _tokens.Issued);

        json.WriteStartObject("refreshTokens");
        foreach (var (token, user) in _users.RefreshTokens)
        {
            json.WriteString(token, user);
        }

        json.WriteEndObject();
        WriteObjects(json, "accessTokens", _users.LiveAccessTokens(now), pair =>
        {
            json.WriteString("token", pair.Key);
            json.WriteString("user", pair.Value.User);
            json.WriteString("expiresAt", pair.Value.ExpiresAt);
        });
        WriteObjects(json, "serviceAccounts", _serviceAccounts.All, account =>
        {
            json.WriteString("email", account.Email);
            json.WriteString("clientId", account.ClientId);
            json.WriteStartObject("publicKeys");
            foreach (var (keyId, key) in account.PublicKeys)
            {
                json.WriteBase64String(keyId, key);
            }

            json.WriteEndObject();
        });
        WriteObjects(json, "calendars", _calendars.All, calendar =>
        {
            lock (calendar.Gate)
            {
                json.WriteString("id", calendar.Id);
                json.WriteString("owner", calendar.Owner);
                json.WriteBoolean("primary", calendar.IsPrimary);
                json.WriteString("summary", calendar.Summary);
                json.WriteString("description", calendar.Description);
                json.WriteString("timeZone", calendar.TimeZone);
                json.WriteNumber("lastSeq", calendar.LastSeq);
                json.WriteNumber("tokensValidFrom", calendar.TokensValidFrom);
                json.WriteString("lastUpdated", calendar.LastUpdated);
                WriteObjects(json, "events", calendar.LiveVersions, stored =>
                {
                    json.WriteNumber("seq", stored.Seq);
                    json.WriteString("updated", stored.Updated);
                    json.WritePropertyName("event");
                    json.WriteRawValue(stored.Utf8, skipInputValidation: true);
                });
                WriteObjects(json, "history", calendar.History, entry =>
                {
                    json.WriteNumber("seq", entry.Seq);
                    json.WriteString("kind", entry.Kind.ToString());
                    json.WriteString("eventId", entry.EventId);
                    json.WriteString("at", entry.At);
                    json.WritePropertyName("event");
                    json.WriteRawValue(entry.Event, skipInputValidation: true);
                });
            }
        });
        var (entries, listSeq) = _calendars.Lists.Snapshot();
        json.WriteStartObject("calendarLists");
        json.WriteNumber("seq", listSeq);
        WriteObjects(json, "entries", entries, pair =>
        {
            json.WriteString("user", pair.User);
            json.WriteString("calendarId", pair.Entry.CalendarId);
            json.WriteString("accessRole", pair.Entry.AccessRole);
            json.WriteNumber("seq", pair.Entry.Seq);
            json.WriteString("updated", pair.Entry.Updated);
            json.WriteBoolean("deleted", pair.Entry.Deleted);
        });
        json.WriteEndObject();
        WriteObjects(json, "channels", _channels.All.Where(c => c.IsActive(now)), channel =>
        {
            json.WriteString("id", channel.Id);
            json.WriteString("resourceId", channel.ResourceId);
            json.WriteString("resourceUri", channel.ResourceUri);
            json.WriteString("token", channel.Token);
            json.WriteString("address", channel.Address.ToString());
            json.WriteString("expiresAt", channel.ExpiresAt);
            json.WriteString("user", channel.User);
            json.WriteString("collection", channel.Collection);
            json.WriteString("calendarId", channel.CalendarId);
        });
        json.WriteEndObject();
    }

    /// <summary>An array named <paramref name="name"/> with one object per item, its fields written by <paramref name="write"/>.</summary>
    private static void WriteObjects<T>(Utf8JsonWriter json, string name, IEnumerable<T> items, Action<T> write)
    {
        json.WriteStartArray(name);
        foreach (var item in items)
        {
            json.WriteStartObject();
            write(item);
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private void Load(string path)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"The emulator's state file {path} is not valid JSON ({ex.Message}); move it away to start with an empty emulator.", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("version", out var version) || version.GetInt32() != FormatVersion)
            {
                throw new InvalidOperationException($"The emulator's state file {path} has an unknown format; move it away to start with an empty emulator.");
            }

            var now = _runtime.Clock.GetUtcNow();
            _runtime.InstanceId = root.GetProperty("instanceId").GetString()!;
            _tokens.Issued = root.GetProperty("issued").GetInt64();
            foreach (var refresh in root.GetProperty("refreshTokens").EnumerateObject())
            {
                _users.RestoreRefreshToken(refresh.Name, refresh.Value.GetString()!);
            }

            foreach (var access in root.GetProperty("accessTokens").EnumerateArray())
            {
                _users.RestoreAccessToken(access.GetProperty("token").GetString()!,
                    new UserDirectory.AccessToken(access.GetProperty("user").GetString()!, access.GetProperty("expiresAt").GetDateTimeOffset()));
            }

            foreach (var account in root.GetProperty("serviceAccounts").EnumerateArray())
            {
                _serviceAccounts.Restore(account.GetProperty("email").GetString()!, account.GetProperty("clientId").GetString()!,
                    account.GetProperty("publicKeys").EnumerateObject().Select(k => KeyValuePair.Create(k.Name, k.Value.GetBytesFromBase64())));
            }

            foreach (var saved in root.GetProperty("calendars").EnumerateArray())
            {
                var calendar = new CalendarState(saved.GetProperty("id").GetString()!, saved.GetProperty("owner").GetString()!,
                    saved.GetProperty("primary").GetBoolean(), saved.GetProperty("summary").GetString()!, saved.GetProperty("timeZone").GetString()!)
                {
                    Description = saved.GetProperty("description").GetString(),
                };
                var live = saved.GetProperty("events").EnumerateArray().Select(e => StoredEvent.Create(
                    JsonNode.Parse(e.GetProperty("event").GetRawText())!.AsObject(), e.GetProperty("seq").GetInt64(), e.GetProperty("updated").GetDateTimeOffset()));
                var history = saved.GetProperty("history").EnumerateArray().Select(h => new HistoryEntry(
                    h.GetProperty("seq").GetInt64(), Enum.Parse<MutationKind>(h.GetProperty("kind").GetString()!), h.GetProperty("eventId").GetString()!,
                    h.GetProperty("at").GetDateTimeOffset(), System.Text.Encoding.UTF8.GetBytes(h.GetProperty("event").GetRawText())));
                calendar.Restore(live, history, saved.GetProperty("lastSeq").GetInt64(), saved.GetProperty("tokensValidFrom").GetInt64(),
                    saved.GetProperty("lastUpdated").GetDateTimeOffset());
                _calendars.Restore(calendar);
            }

            if (root.TryGetProperty("calendarLists", out var lists))
            {
                _calendars.Lists.Restore(lists.GetProperty("entries").EnumerateArray().Select(e => (e.GetProperty("user").GetString()!, new ListEntry(
                    e.GetProperty("calendarId").GetString()!, e.GetProperty("accessRole").GetString()!, e.GetProperty("seq").GetInt64(),
                    e.GetProperty("updated").GetDateTimeOffset(), e.GetProperty("deleted").GetBoolean()))), lists.GetProperty("seq").GetInt64());
            }
            else
            {
                // A file written before calendar lists were kept: each calendar is on its owner's list.
                foreach (var calendar in _calendars.All)
                {
                    _calendars.Lists.Put(calendar.Owner, calendar.Id, "owner", now);
                }
            }

            var resumed = 0;
            foreach (var saved in root.GetProperty("channels").EnumerateArray())
            {
                var channel = new WatchChannel(saved.GetProperty("id").GetString()!, saved.GetProperty("resourceId").GetString()!,
                    saved.GetProperty("resourceUri").GetString()!, saved.GetProperty("token").GetString(), new Uri(saved.GetProperty("address").GetString()!),
                    saved.GetProperty("expiresAt").GetDateTimeOffset(), saved.GetProperty("user").GetString()!, saved.GetProperty("collection").GetString()!,
                    saved.GetProperty("calendarId").GetString());
                if (channel.IsActive(now) && _channels.TryAdd(channel))
                {
                    _dispatcher.Resume(channel);
                    resumed++;
                }
            }

            LogLoaded(_logger, path, _calendars.All.Count(), resumed);
        }
    }

    [LoggerMessage(EventId = EmulatorLogEvents.StateLoaded, Level = LogLevel.Information, Message = "Emulator state loaded from {Path}: {Calendars} calendars, {Channels} open channels")]
    private static partial void LogLoaded(ILogger logger, string path, int calendars, int channels);

    [LoggerMessage(EventId = EmulatorLogEvents.StateSaveFailed, Level = LogLevel.Warning, Message = "Saving the emulator state to {Path} failed; retrying")]
    private static partial void LogSaveFailed(ILogger logger, string path, Exception exception);
}
