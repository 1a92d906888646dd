using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator.Faults;
using Calhook.Emulator.Tests.Support;
using Calhook.TestKit;

namespace Calhook.Emulator.Tests.Faults;

public sealed class FaultTests
{
    private static JsonObject Watch(string id, Uri address) => new() { ["id"] = id, ["type"] = "web_hook", ["address"] = address.ToString() };

    [Fact]
    public async Task Api_errors_hit_calendar_v3_only_and_delete_resets()
    {
        await using var host = await EmulatorHost.StartAsync();
        await host.Control.SetFaultsAsync(new FaultSettings { Seed = 1, Api = new ApiFaults { ErrorRate = 1.0, ErrorStatus = 502 } });
        var (status, json) = await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath());
        EmulatorHost.AssertError(502, "backendError", status, json);
        Assert.NotNull(await host.Control.CreateTokensAsync("bob@example.com"));
        Assert.Equal(502, (await host.Control.GetFaultsAsync()).Api!.ErrorStatus);
        await host.Control.ResetFaultsAsync();
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath())).Status);
    }

    [Fact]
    public async Task Rate_limits_answer_googles_403_or_429_and_the_seed_makes_them_repeatable()
    {
        await using var host = await EmulatorHost.StartAsync();
        async Task<List<int>> RunAsync()
        {
            await host.Control.SetFaultsAsync(new FaultSettings { Seed = 42, Api = new ApiFaults { RateLimitRate = 0.5 } });
            var statuses = new List<int>();
            for (var i = 0; i < 12; i++)
            {
                var (status, json) = await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath());
                if (status != 200)
                {
                    EmulatorHost.AssertError(status, "rateLimitExceeded", status, json);
                }

                statuses.Add(status);
            }

            return statuses;
        }

        var first = await RunAsync();
        Assert.Equal(first, await RunAsync());
        Assert.Contains(200, first);
        Assert.Contains(first, s => s is 403 or 429);
    }

    [Fact]
    public async Task Forced_full_sync_fault_answers_410_on_incremental_lists()
    {
        await using var host = await EmulatorHost.StartAsync();
        var (_, token, _) = await host.ListAllAsync("");
        await host.Control.SetFaultsAsync(new FaultSettings { Api = new ApiFaults { FullSyncRequiredRate = 1.0 } });
        var (status, json) = await host.SendAsync(HttpMethod.Get, $"{EmulatorHost.EventsPath()}?syncToken={Uri.EscapeDataString(token)}");
        EmulatorHost.AssertError(410, "fullSyncRequired", status, json);
        Assert.Equal(200, (await host.SendAsync(HttpMethod.Get, EmulatorHost.EventsPath())).Status);
    }

    [Fact]
    public async Task Invalid_fault_settings_get_400()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var control = new HttpClient { BaseAddress = host.Server.BaseAddress };
        Assert.Equal(400, (int)(await control.PutAsJsonAsync("emulator/v1/faults", new { notifications = new { dropRate = 2.0 } })).StatusCode);
        Assert.Equal(400, (int)(await control.PutAsJsonAsync("emulator/v1/faults", new { api = new { errorStatus = 200 } })).StatusCode);
        Assert.Equal(400, (int)(await control.PutAsJsonAsync("emulator/v1/faults", new { notifications = new { delayMs = new[] { 5, 1 } } })).StatusCode);
    }

    [Fact]
    public async Task Dropped_notifications_never_arrive()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        await host.SendAsync(HttpMethod.Post, $"{EmulatorHost.EventsPath()}/watch", Watch("d", receiver.Address));
        await receiver.WaitForAsync(1);
        await host.Control.SetFaultsAsync(new FaultSettings { Notifications = new NotificationFaults { DropRate = 1.0 } });
        await host.InsertAsync("lost", Some.Monday);
        await host.Control.SetFaultsAsync(new FaultSettings());
        await host.InsertAsync("kept", Some.Monday);
        var all = await receiver.WaitForAsync(2);
        await host.InsertAsync("witness", Some.Monday);
        all = await receiver.WaitForAsync(3);
        Assert.Equal(3, all.Count);
        Assert.True(all[2].Number - all[1].Number >= 1);
    }

    [Fact]
    public async Task Duplicated_notifications_arrive_twice_with_the_same_number()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        await host.SendAsync(HttpMethod.Post, $"{EmulatorHost.EventsPath()}/watch", Watch("dup", receiver.Address));
        await receiver.WaitForAsync(1);
        await host.Control.SetFaultsAsync(new FaultSettings { Notifications = new NotificationFaults { DuplicateRate = 1.0 } });
        await host.InsertAsync("twice", Some.Monday);
        var all = await receiver.WaitForAsync(3);
        Assert.Equal(all[1].Number, all[2].Number);
    }

    [Fact]
    public async Task Delayed_notifications_arrive_no_earlier_than_the_delay()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        await host.SendAsync(HttpMethod.Post, $"{EmulatorHost.EventsPath()}/watch", Watch("slow", receiver.Address));
        await receiver.WaitForAsync(1);
        await host.Control.SetFaultsAsync(new FaultSettings { Notifications = new NotificationFaults { DelayMs = [1500, 1500] } });
        var started = System.Diagnostics.Stopwatch.StartNew();
        await host.InsertAsync("late", Some.Monday);
        // The mutation returned while its notification is still held back: it did not wait for the delivery.
        Assert.Single(receiver.All);
        await receiver.WaitForAsync(2);
        Assert.True(started.ElapsedMilliseconds >= 1450, $"delivered after {started.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Reorder_lets_a_newer_notification_overtake_an_older_one()
    {
        await using var host = await EmulatorHost.StartAsync(o => o.ReorderWindow = TimeSpan.FromSeconds(5));
        await using var receiver = await PushReceiver.StartAsync();
        await host.SendAsync(HttpMethod.Post, $"{EmulatorHost.EventsPath()}/watch", Watch("mix", receiver.Address));
        await receiver.WaitForAsync(1);
        await host.Control.SetFaultsAsync(new FaultSettings { Notifications = new NotificationFaults { Reorder = true } });
        await host.InsertAsync("one", Some.Monday);
        await host.InsertAsync("two", Some.Monday);
        var all = await receiver.WaitForAsync(3);
        Assert.True(all[1].Number > all[2].Number, $"expected {all[1].Number} after {all[2].Number}");
    }
}
