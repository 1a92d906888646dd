using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Calhook.Emulator;

namespace Calhook.Cli.Commands;

/// <summary>Connects an emulator user to a running Calhook and watches its primary calendar, over the public HTTP API.</summary>
internal static class DemoAccount
{
    /// <summary>
    /// Returns the id of the watch of <paramref name="user"/>'s primary calendar. With <paramref name="reuse"/> (the
    /// emulator resumed its saved state, so the account's refresh token still works) a watch left from an earlier run
    /// is kept; otherwise such watches point at a calendar that no longer exists, and are replaced by a fresh one.
    /// </summary>
    public static async Task<string> EnsureWatchedAsync(Uri calhook, string apiKey, Uri emulator, string user, bool reuse, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = calhook };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

        using var control = new EmulatorControlClient(emulator);
        var tokens = await control.CreateTokensAsync(user, cancellationToken);

        var watches = await http.GetFromJsonAsync<JsonObject>("/v1/watches", cancellationToken);
        var existing = (watches?["items"]?.AsArray() ?? []).Where(item => (string?)item?["calendarId"] == user && (string?)item?["status"] != "stopped").ToList();
        if (reuse && existing.FirstOrDefault(item => (string?)item?["status"] != "needs_reauth") is { } kept)
        {
            return (string)kept!["id"]!;
        }

        foreach (var item in existing)
        {
            using var removed = await http.DeleteAsync(new Uri($"/v1/watches/{item!["id"]}", UriKind.Relative), cancellationToken);
        }

        var account = await PostAsync(http, "/v1/accounts",
            new JsonObject { ["type"] = "oauth", ["email"] = user, ["refreshToken"] = tokens.RefreshToken }, cancellationToken);
        var watch = await PostAsync(http, "/v1/watches",
            new JsonObject { ["accountId"] = (string?)account["id"], ["calendarId"] = user }, cancellationToken);
        return (string)watch["id"]!;
    }

    /// <summary>Waits until the watch's first sync (the baseline) is committed; false after <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitForBaselineAsync(AdminClient calhook, string watchId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var watch = await calhook.SendAsync(HttpMethod.Get, $"/v1/watches/{watchId}", null, limit.Token);
                if (watch?["lastSyncAt"] is not null)
                {
                    return true;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, limit.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task<JsonObject> PostAsync(HttpClient http, string path, JsonObject body, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(path, body, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"POST {path} answered {(int)response.StatusCode}: {text}");
        }

        return JsonNode.Parse(text)!.AsObject();
    }
}
