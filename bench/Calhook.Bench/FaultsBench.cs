using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;
using Calhook.Emulator.Faults;
using Calhook.TestKit;

namespace Calhook.Bench;

/// <summary>
/// <c>faults-lost</c>, <c>faults-duplicated</c>, <c>faults-spurious</c>: "nothing lost", counted. A real
/// <c>calhook serve</c> process watches several emulator calendars and delivers every change to a verifying
/// subscriber while mutations arrive, the emulator drops, duplicates, delays and reorders pings and fails API calls
/// (5xx, 429 storms, forced 410s), the subscriber is down for a stretch, and the process is killed with SIGKILL at
/// random moments and started again. Then the faults stop, the service catches up, and the change log and what the
/// subscriber received are compared with the emulator's history (the ground truth): see <see cref="FaultVerdict"/>.
/// </summary>
internal static class FaultsBench
{
    private const string ApiKey = "faults-bench-api-key-0123456789";

    public static async Task<IEnumerable<Measure>> RunAsync(Uri emulator, bool quick, int? killsWanted = null)
    {
        var plan = quick
            ? new FaultPlan(Calendars: 6, Kills: killsWanted ?? 6, MinLife: TimeSpan.FromSeconds(2), MaxLife: TimeSpan.FromSeconds(6), Settle: TimeSpan.FromSeconds(60), Outage: TimeSpan.FromSeconds(15))
            : new FaultPlan(Calendars: 20, Kills: killsWanted ?? 200, MinLife: TimeSpan.FromSeconds(1), MaxLife: TimeSpan.FromSeconds(4), Settle: TimeSpan.FromSeconds(120), Outage: TimeSpan.FromSeconds(60));
        var random = new Random(Environment.GetEnvironmentVariable("CALHOOK_FAULTS_SEED") is { } seed ? int.Parse(seed, CultureInfo.InvariantCulture) : Random.Shared.Next());
        using var control = new EmulatorControlClient(emulator);
        await using var subscriber = await VerifyingSubscriber.StartAsync();
        // The subscriber's outage: from a third of the kills on, for plan.Outage of wall-clock time (shorter than the
        // service's retry schedule, see ServiceProcess), every verified webhook is answered 503. A stretch counted in
        // kills grew with the machine's load (12 minutes in one loaded full run) past the retries, which then gave up.
        var outageStarted = (long?)null;
        bool SubscriberDown() => outageStarted is { } started && TimeProvider.System.GetElapsedTime(started) < plan.Outage;
        subscriber.Respond = _ => Task.FromResult(SubscriberDown() ? 503 : 200);
        var data = Directory.CreateTempSubdirectory("calhook-faults-");
        var port = BenchHost.FreePort();
        var service = new Uri($"http://127.0.0.1:{port}/");
        var child = await ServiceProcess.StartAsync(emulator, service, data.FullName, ApiKey);
        using var api = new HttpClient { BaseAddress = service };
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        var users = Enumerable.Range(0, plan.Calendars).Select(i => $"faults-{i}@example.com").ToList();
        var calendars = new List<HttpClient>();
        try
        {
            // Subscribe first: a subscription receives the changes appended after it, and the baselines append none.
            var subscription = await BenchHost.PostAsync(api, "/v1/subscriptions", new JsonObject { ["url"] = subscriber.Url.ToString() });
            subscriber.Trust((string)subscription["secret"]!);
            var watches = new List<string>();
            foreach (var user in users)
            {
                var tokens = await Emulator.TokensAsync(emulator, user);
                var account = await BenchHost.PostAsync(api, "/v1/accounts", new JsonObject { ["type"] = "oauth", ["email"] = user, ["refreshToken"] = tokens.RefreshToken });
                var watch = await BenchHost.PostAsync(api, "/v1/watches", new JsonObject { ["accountId"] = (string)account["id"]!, ["calendarId"] = user });
                watches.Add((string)watch["id"]!);
                calendars.Add(await Emulator.CalendarAsync(emulator, user));
            }

            await WaitAsync(async () =>
            {
                foreach (var id in watches)
                {
                    if (JsonNode.Parse(await api.GetStringAsync(new Uri($"/v1/watches/{id}", UriKind.Relative)))!["lastSyncAt"] is null)
                    {
                        return false;
                    }
                }

                return true;
            }, TimeSpan.FromMinutes(2), "the baselines");

            // The storm: faults on, mutations from three writers, the subscriber down for a stretch, kills at random.
            var faults = Faults(random.Next(), storm: false);
            await control.SetFaultsAsync(faults);
            using var stop = new CancellationTokenSource();
            var mutations = new Mutations(calendars, random.Next());
            var writers = Enumerable.Range(0, 3).Select(_ => mutations.RunAsync(stop.Token)).ToList();
            var storms = StormsAsync(control, random.Next(), stop.Token);
            var kills = 0;
            var phase = System.Diagnostics.Stopwatch.StartNew();
            while (kills < plan.Kills)
            {
                await Task.Delay(plan.MinLife + (plan.MaxLife - plan.MinLife) * random.NextDouble(), TimeProvider.System);
                if (kills >= plan.Kills / 3 && outageStarted is null)
                {
                    outageStarted = TimeProvider.System.GetTimestamp();
                }

                await child.KillAsync();
                kills++;
                child = await ServiceProcess.StartAsync(emulator, service, data.FullName, ApiKey);
                if (kills % 10 == 0)
                {
                    Console.Error.WriteLine($"  {kills} kills, {mutations.Done} mutations, {phase.Elapsed.TotalSeconds:0} s");
                }
            }

            await Task.Delay(plan.MinLife, TimeProvider.System);
            await stop.CancelAsync();
            await Task.WhenAll([.. writers, storms]);
            outageStarted = 0; // over, if it was not already
            await control.ResetFaultsAsync();
            var stormSeconds = phase.Elapsed.TotalSeconds;

            // Catch-up: no more faults; the safety net finds what dropped pings hid, and deliveries are retried.
            var settled = System.Diagnostics.Stopwatch.StartNew();
            FaultVerdict verdict;
            while (true)
            {
                verdict = FaultVerdict.Judge(await GroundTruthAsync(control, users), await ChangeLogAsync(api), [.. subscriber.Accepted.Select(w => new WebhookReceipt(w.Id, w.CalendarId, w.Sequence))]);
                if (verdict.Lost == 0 || settled.Elapsed > plan.Settle)
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
            }

            Console.Error.WriteLine($"  {kills} kills and {mutations.Done} mutations in {stormSeconds:0} s; settled in {settled.Elapsed.TotalSeconds:0.0} s: {verdict}");
            foreach (var line in verdict.Findings.Take(20))
            {
                Console.Error.WriteLine("    " + line);
            }

            if (verdict.Lost > 0)
            {
                // Where the undelivered changes stand: still queued (backlog), or given up (the subscription failing).
                Console.Error.WriteLine("    subscription: " + await api.GetStringAsync(new Uri($"/v1/subscriptions/{(string)subscription["id"]!}", UriKind.Relative)));
            }

            var what = $"{kills} SIGKILLs, {mutations.Done:N0} mutations over {plan.Calendars} calendars, {verdict.Changes:N0} changes";
            return
            [
                new Measure("faults-lost", verdict.Lost, $"changes ({what}; log and webhooks against the emulator's history)", null, null, "0", verdict.Lost == 0),
                new Measure("faults-duplicated", verdict.Duplicated, "changes (beyond retries of one webhook-id)", null, null, "0", verdict.Duplicated == 0),
                new Measure("faults-spurious", verdict.Spurious, "changes (no mutation behind them)", null, null, "0", verdict.Spurious == 0),
                new Measure("faults-redelivered", verdict.Redelivered, "webhook-ids received more than once (retries, allowed)", null, null, "informational", true),
                new Measure("faults-out-of-order", verdict.OutOfOrder, "webhooks first received before an earlier change of their calendar", null, null, "0", verdict.OutOfOrder == 0),
            ];
        }
        finally
        {
            await child.KillAsync();
            foreach (var calendar in calendars)
            {
                calendar.Dispose();
            }

            try
            {
                data.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The stated rates: 30 % of pings dropped, 10 % duplicated, delayed and reordered; 5 % API 5xx, 2 % forced 410s.</summary>
    private static FaultSettings Faults(int seed, bool storm) => new()
    {
        Seed = seed,
        Notifications = new NotificationFaults { DropRate = 0.3, DuplicateRate = 0.1, DelayMs = [0, 300], Reorder = true },
        Api = new ApiFaults { ErrorRate = 0.05, RateLimitRate = storm ? 0.7 : 0.01, FullSyncRequiredRate = 0.02 },
    };

    /// <summary>429 storms: for two seconds in every ten, most API calls are refused as rate limited.</summary>
    private static async Task StormsAsync(EmulatorControlClient control, int seed, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(8), TimeProvider.System, cancellationToken);
                await control.SetFaultsAsync(Faults(seed++, storm: true), CancellationToken.None);
                await Task.Delay(TimeSpan.FromSeconds(2), TimeProvider.System, cancellationToken);
                await control.SetFaultsAsync(Faults(seed++, storm: false), CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Every calendar's history from the emulator: each event's versions in order.</summary>
    private static async Task<Dictionary<(string Calendar, string Event), List<(string Kind, string? Etag)>>> GroundTruthAsync(EmulatorControlClient control, IReadOnlyList<string> users)
    {
        var truth = new Dictionary<(string, string), List<(string, string?)>>();
        foreach (var user in users)
        {
            foreach (var mutation in await control.GetHistoryAsync(user))
            {
                var key = (user, mutation.EventId);
                if (!truth.TryGetValue(key, out var versions))
                {
                    truth[key] = versions = [];
                }

                versions.Add((mutation.Kind, (string?)mutation.Event["etag"]));
            }
        }

        return truth;
    }

    /// <summary>The whole change log, through the feed.</summary>
    private static async Task<List<JsonObject>> ChangeLogAsync(HttpClient api)
    {
        var changes = new List<JsonObject>();
        long after = 0;
        while (true)
        {
            var page = JsonNode.Parse(await api.GetStringAsync(new Uri($"/v1/changes?after={after}&limit=1000", UriKind.Relative)))!;
            changes.AddRange(page["changes"]!.AsArray().Select(c => c!.AsObject()));
            after = (long)page["next"]!;
            if (!(bool)page["hasMore"]!)
            {
                return changes;
            }
        }
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Waiting for {what} took longer than {timeout}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        }
    }

    private sealed record FaultPlan(int Calendars, int Kills, TimeSpan MinLife, TimeSpan MaxLife, TimeSpan Settle, TimeSpan Outage);

    /// <summary>Creates, edits and deletes events at random on the calendars, as their owners would.</summary>
    private sealed class Mutations(IReadOnlyList<HttpClient> calendars, int seed)
    {
        private readonly Random _random = new(seed);
        private readonly List<string>[] _live = [.. calendars.Select(_ => new List<string>())];
        private int _done;

        public int Done => _done;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    int calendar, roll, n;
                    string? target;
                    lock (_random)
                    {
                        calendar = _random.Next(calendars.Count);
                        roll = _random.Next(100);
                        n = _random.Next();
                        var live = _live[calendar];
                        target = live.Count < 5 || roll < 35 ? null : live[_random.Next(live.Count)];
                    }

                    await MutateAsync(calendars[calendar], _live[calendar], target, roll, n);
                    Interlocked.Increment(ref _done);
                    await Task.Delay(TimeSpan.FromMilliseconds(n % 120), TimeProvider.System, cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        /// <summary>A failed call (an injected fault) changed nothing: only what the emulator accepted is tracked.</summary>
        private static async Task MutateAsync(HttpClient calendar, List<string> live, string? target, int roll, int n)
        {
            if (target is null)
            {
                using var created = await calendar.PostAsJsonAsync("events", Emulator.Event(n));
                if (created.IsSuccessStatusCode && JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"] is { } id)
                {
                    lock (live)
                    {
                        live.Add((string)id!);
                    }
                }
            }
            else if (roll < 80)
            {
                using var patched = await calendar.PatchAsJsonAsync($"events/{target}", new JsonObject { ["summary"] = $"Edited {n}" });
            }
            else
            {
                using var deleted = await calendar.DeleteAsync(new Uri($"events/{target}", UriKind.Relative));
                if (deleted.IsSuccessStatusCode)
                {
                    lock (live)
                    {
                        live.Remove(target);
                    }
                }
            }
        }
    }
}
