using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.TestKit;
using Calhook.Tests.Cli;
using Calhook.Tests.Delivery;
using Calhook.Tests.Storage;
using Npgsql;
using Xunit.Abstractions;

namespace Calhook.Tests.Coordination;

/// <summary>
/// Three real <c>calhook serve</c> processes on one PostgreSQL database and one emulator, behind a loopback load
/// balancer that Google's pings and the admin API go through (so both spread over the instances). Each instance reaches
/// the emulator through its own recording proxy, which tells which instance listed which calendar when. Channels live
/// 30 s (renewed 6 s before expiry at the latest) and leases 3 s, so the channels are renewed during the test, and when
/// the instance leading the channel work, which also holds deliveries, is killed with SIGKILL during a burst of
/// mutations, another instance must take its channels over before they expire.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class MultiInstanceTests(PostgresFixture postgres, ITestOutputHelper output)
{
    private const string ApiKey = "chk_multi_instance_key_0123456789ab";
    private const int Calendars = 6;
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Three_instances_share_the_work_and_a_killed_one_loses_nothing()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("instances");
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { MaxChannelTtlSeconds = 30 });
        using var control = new EmulatorControlClient(emulator.BaseAddress);
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        var subscriberOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        subscriberOpen.SetResult();
        var gate = subscriberOpen;
        subscriber.Respond = async _ =>
        {
            await Volatile.Read(ref gate).Task;
            return 200;
        };

        var ports = Enumerable.Range(0, 3).Select(_ => CalhookProcess.FreePort()).ToList();
        var addresses = ports.Select(p => new Uri($"http://127.0.0.1:{p}/")).ToList();
        await using var balancer = await LoopbackForwarder.StartAsync([.. addresses]);
        var proxies = new List<LoopbackForwarder>();
        var directories = new List<TestDirectory>();
        var instances = new List<CalhookProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                proxies.Add(await LoopbackForwarder.StartAsync(emulator.BaseAddress));
                directories.Add(new TestDirectory());
                instances.Add(Start(i, addresses[i], proxies[i].BaseAddress, balancer.BaseAddress, directories[i].Path, connectionString));
            }

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await Task.WhenAll(instances.Select((serve, i) => serve.WaitUntilHealthyAsync(addresses[i], Generous)));
            output.WriteLine($"{clock.Elapsed}: three instances healthy");
            using var calhook = new HttpClient { BaseAddress = balancer.BaseAddress };
            calhook.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

            // Six calendars of six users, added through whichever instance the balancer picks.
            var users = new List<(string User, HttpClient Google)>();
            var refreshTokens = new List<string>();
            for (var c = 0; c < Calendars; c++)
            {
                var user = $"multi{c}@example.com";
                var tokens = await control.CreateTokensAsync(user);
                var google = new HttpClient { BaseAddress = new Uri(emulator.BaseAddress, "calendar/v3/calendars/primary/") };
                google.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
                users.Add((user, google));
                refreshTokens.Add(tokens.RefreshToken);
            }

            await Task.WhenAll(users.Select(async (u, c) =>
            {
                var account = await PostAsync(calhook, "/v1/accounts", new JsonObject { ["type"] = "oauth", ["email"] = u.User, ["refreshToken"] = refreshTokens[c] });
                await PostAsync(calhook, "/v1/watches", new JsonObject { ["accountId"] = (string?)account["id"], ["calendarId"] = u.User });
            }));

            await Polling.EventuallyAsync(async () =>
            {
                var watches = JsonNode.Parse(await calhook.GetStringAsync(new Uri("/v1/watches", UriKind.Relative)))!["items"]!.AsArray();
                var channels = await control.GetChannelsAsync();
                return watches.Count == Calendars && watches.All(w => w!["lastSyncAt"] is not null)
                    && users.All(u => channels.Any(ch => ch.CalendarId == u.User));
            }, Generous, "every calendar has its baseline and an open channel");

            output.WriteLine($"{clock.Elapsed}: baselines and channels in place");
            // From here on every calendar must always have a live channel, whoever renews it.
            using var watching = new CancellationTokenSource();
            var gaps = new List<string>();
            var coverage = WatchCoverageAsync(control, [.. users.Select(u => u.User)], gaps, watching.Token);

            var subscription = await PostAsync(calhook, "/v1/subscriptions", new JsonObject { ["url"] = subscriber.Url.ToString() });
            subscriber.Trust((string)subscription["secret"]!);

            // Burst 1: creations on every calendar at once.
            var created = new List<(HttpClient Google, string Id)>();
            await Task.WhenAll(users.Select(async (u, c) =>
            {
                for (var n = 0; n < 3; n++)
                {
                    var id = await CreateEventAsync(u.Google, $"c{c}-e{n}");
                    lock (created)
                    {
                        created.Add((u.Google, id));
                    }
                }
            }));
            await Polling.EventuallyAsync(async () => (await ReadFeedAsync(calhook)).Count >= Calendars * 3, Generous, "burst 1 is in the log");

            // The subscriber stops answering: each instance holds deliveries (two at a time each) when the kill comes.
            var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref gate, held);
            var burst2 = Task.WhenAll(users.Select(async (u, c) =>
            {
                for (var n = 0; n < 3; n++)
                {
                    await CreateEventAsync(u.Google, $"c{c}-burst2-{n}");
                }
            }));
            var victim = await Polling.EventuallyAsync(
                () => ChannelLeaderHoldingDeliveriesAsync(connectionString, instances),
                v => v is not null, Generous, "the channel leader holds deliveries");
            var doomed = instances[victim!.Value];
            var victimChannels = await control.GetChannelsAsync();

            // Burst 3 runs while the leader dies: updates and deletions of burst 1's events.
            var burst3 = Task.Run(async () =>
            {
                for (var n = 0; n < created.Count; n++)
                {
                    var (google, id) = created[n];
                    if (n % 3 == 0)
                    {
                        await DeleteEventAsync(google, id);
                    }
                    else
                    {
                        await PatchEventAsync(google, id, $"renamed-{n}");
                    }
                }
            });
            await doomed.KillAsync();
            output.WriteLine($"{clock.Elapsed}: killed instance {victim} (pid {doomed.Id}), the channel leader");
            await Task.WhenAll(burst2, burst3);
            held.SetResult();

            // After every channel open at the kill has expired, one more burst must still arrive through pings (the
            // safety net is an hour away): the survivors renewed the channels.
            var lastExpiry = victimChannels.Max(ch => ch.Expiration);
            await Polling.EventuallyAsync(() => Task.FromResult(DateTimeOffset.UtcNow > lastExpiry.AddSeconds(1)), Generous, "the channels open at the kill are past their expiry");
            output.WriteLine($"{clock.Elapsed}: the channels open at the kill have expired");
            await Task.WhenAll(users.Select((u, c) => CreateEventAsync(u.Google, $"c{c}-after-expiry")));

            // The log converges on the emulator's state, with no change detected twice.
            var (feed, _) = await Polling.EventuallyAsync(
                async () =>
                {
                    var log = await ReadFeedAsync(calhook);
                    return (Log: log, Matches: await MatchesGroundTruthAsync(log, users));
                },
                r => r.Matches, Generous, "the change log equals the emulator's ground truth");
            output.WriteLine($"{clock.Elapsed}: the log matches the emulator ({feed.Count} changes)");
            await watching.CancelAsync();
            await coverage;
            Assert.Empty(gaps);
            foreach (var (user, _) in users)
            {
                var history = await control.GetHistoryAsync(user);
                var changes = feed.Where(ch => (string)ch["calendarId"]! == user).ToList();
                Assert.True(changes.Count <= history.Count, $"{user}: {changes.Count} changes for {history.Count} mutations (a change detected twice)");
                Assert.All(changes.Where(ch => (string)ch["type"]! == "event.created").GroupBy(ch => (string)ch["eventId"]!), g => Assert.Single(g));
            }

            // One sync of a calendar at a time: no two instances listed the same calendar at once.
            AssertNoConcurrentListsAcrossInstances(proxies);

            // Every change delivered, duplicates only as repeats of one webhook-id, first deliveries in log order per calendar.
            var accepted = await Polling.EventuallyAsync(
                () => Task.FromResult(subscriber.Accepted), a => a.Select(w => w.Id).Distinct().Count() >= feed.Count, Generous,
                "every change is delivered, the dead instance's deliveries too");
            Assert.Equal(feed.Select(ch => (string)ch["id"]!).Order(), accepted.Select(w => w.Id).Distinct().Order());
            foreach (var calendar in accepted.GroupBy(w => w.CalendarId))
            {
                var firsts = calendar.DistinctBy(w => w.Id).Select(w => w.Sequence).ToList();
                Assert.Equal(firsts.Order(), firsts);
            }

            Assert.Equal(0, subscriber.Unverified);
            foreach (var (_, google) in users)
            {
                google.Dispose();
            }
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }

            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync();
            }

            foreach (var directory in directories)
            {
                directory.Dispose();
            }
        }
    }

    private static CalhookProcess Start(int index, Uri address, Uri google, Uri publicUrl, string data, string connectionString)
    {
        var environment = new Dictionary<string, string>
        {
            ["Calhook__Coordination__LeaseTimeToLive"] = "00:00:03",
            ["Calhook__Delivery__InstanceId"] = $"instance-{index}",
            ["Calhook__Delivery__AllowPrivateNetworks"] = "true",
            ["Calhook__Delivery__MaxConcurrentAttempts"] = "2",
            ["Calhook__Delivery__AttemptTimeout"] = "00:00:05",
            ["Calhook__Sync__SafetyNetInterval"] = "01:00:00",
        };
        for (var i = 0; i < 60; i++)
        {
            environment[$"Calhook__Delivery__RetryDelays__{i}"] = "00:00:00.500";
        }

        return CalhookProcess.Start(environment,
            "serve", "--urls", address.ToString().TrimEnd('/'), "--data", data, "--google-url", google.ToString().TrimEnd('/'),
            "--public-url", publicUrl.ToString().TrimEnd('/'), "--api-key", ApiKey, "--postgres", connectionString);
    }

    /// <summary>The index of the instance holding the <c>channels</c> lease, once it also holds a delivery lease; else null.</summary>
    private static async Task<int?> ChannelLeaderHoldingDeliveriesAsync(string connectionString, List<CalhookProcess> instances)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var leader = new NpgsqlCommand("SELECT holder FROM leases WHERE name = 'channels';", connection);
        if (await leader.ExecuteScalarAsync() is not string holder)
        {
            return null;
        }

        var pid = int.Parse(holder.Split('/')[1], CultureInfo.InvariantCulture);
        var index = instances.FindIndex(p => p.Id == pid);
        await using var deliveries = new NpgsqlCommand("SELECT COUNT(*) FROM deliveries WHERE lease_owner = @owner AND lease_until > @now;", connection);
        deliveries.Parameters.AddWithValue("owner", $"instance-{index}");
        deliveries.Parameters.AddWithValue("now", DateTimeOffset.UtcNow.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
        return index >= 0 && (long)(await deliveries.ExecuteScalarAsync())! > 0 ? index : null;
    }

    /// <summary>Samples the emulator's live channels until cancelled; a calendar without one at a sample is a gap.</summary>
    private static async Task WatchCoverageAsync(EmulatorControlClient control, IReadOnlyList<string> calendars, List<string> gaps, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var live = (await control.GetChannelsAsync(cancellationToken: cancellationToken))
                    .Where(ch => ch.Expiration > DateTimeOffset.UtcNow).Select(ch => ch.CalendarId).ToHashSet(StringComparer.Ordinal);
                gaps.AddRange(calendars.Where(c => !live.Contains(c)).Select(c => $"{c} had no live channel at {DateTimeOffset.UtcNow:O}"));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Replays the log per calendar (created/updated set the summary, deleted removes) and compares with the emulator's events.</summary>
    private static async Task<bool> MatchesGroundTruthAsync(List<JsonNode> feed, List<(string User, HttpClient Google)> users)
    {
        foreach (var (user, google) in users)
        {
            var replayed = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var change in feed.Where(ch => (string)ch["calendarId"]! == user))
            {
                var eventId = (string)change["eventId"]!;
                if ((string)change["type"]! == "event.deleted")
                {
                    replayed.Remove(eventId);
                }
                else
                {
                    replayed[eventId] = (string)change["event"]!["summary"]!;
                }
            }

            var truth = JsonNode.Parse(await google.GetStringAsync(new Uri("events?maxResults=2500", UriKind.Relative)))!["items"]!.AsArray()
                .ToDictionary(e => (string)e!["id"]!, e => (string)e!["summary"]!, StringComparer.Ordinal);
            if (replayed.Count != truth.Count || replayed.Any(p => !truth.TryGetValue(p.Key, out var summary) || summary != p.Value))
            {
                return false;
            }
        }

        return true;
    }

    private static void AssertNoConcurrentListsAcrossInstances(List<LoopbackForwarder> proxies)
    {
        var lists = proxies
            .SelectMany((proxy, instance) => proxy.Requests
                .Where(r => r.Method == "GET" && r.Path.EndsWith("/events", StringComparison.Ordinal))
                .Select(r => (Instance: instance, Calendar: r.Path, r.StartedAt, r.EndedAt)))
            .ToList();
        Assert.NotEmpty(lists);
        Assert.True(lists.Select(l => l.Instance).Distinct().Count() > 1, "syncs ran on more than one instance");
        foreach (var calendar in lists.GroupBy(l => l.Calendar))
        {
            var ordered = calendar.OrderBy(l => l.StartedAt).ToList();
            for (var i = 0; i < ordered.Count; i++)
            {
                for (var j = i + 1; j < ordered.Count && ordered[j].StartedAt < ordered[i].EndedAt; j++)
                {
                    Assert.True(ordered[i].Instance == ordered[j].Instance,
                        $"{calendar.Key} was listed by instances {ordered[i].Instance} and {ordered[j].Instance} at once");
                }
            }
        }
    }

    private static async Task<List<JsonNode>> ReadFeedAsync(HttpClient calhook)
    {
        var changes = new List<JsonNode>();
        var after = 0L;
        while (true)
        {
            var page = JsonNode.Parse(await calhook.GetStringAsync(new Uri($"/v1/changes?after={after}&limit=1000", UriKind.Relative)))!;
            changes.AddRange(page["changes"]!.AsArray().Select(c => c!));
            after = (long)page["next"]!;
            if (!(bool)page["hasMore"]!)
            {
                return changes;
            }
        }
    }

    private static async Task<string> CreateEventAsync(HttpClient google, string summary) =>
        (string)(await PostAsync(google, "events", new JsonObject
        {
            ["summary"] = summary,
            ["start"] = new JsonObject { ["dateTime"] = "2026-12-04T10:00:00Z" },
            ["end"] = new JsonObject { ["dateTime"] = "2026-12-04T11:00:00Z" },
        }))["id"]!;

    private static async Task PatchEventAsync(HttpClient google, string id, string summary)
    {
        using var response = await google.PatchAsJsonAsync($"events/{id}", new JsonObject { ["summary"] = summary });
        Assert.True(response.IsSuccessStatusCode, $"PATCH events/{id} answered {(int)response.StatusCode}");
    }

    private static async Task DeleteEventAsync(HttpClient google, string id)
    {
        using var response = await google.DeleteAsync(new Uri($"events/{id}", UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"DELETE events/{id} answered {(int)response.StatusCode}");
    }

    private static async Task<JsonObject> PostAsync(HttpClient http, string path, JsonObject body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
