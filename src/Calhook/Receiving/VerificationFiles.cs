using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Calhook.Receiving;

/// <summary>
/// Serves site-verification files (Google Search Console HTML files) at the site root, from configuration or from a
/// folder, so the push address's domain can be verified without another web server.
/// </summary>
internal static partial class VerificationFiles
{
    public static bool IsValidName(string name) => FileName().IsMatch(name);

    public static void MapVerificationFiles(this IEndpointRouteBuilder endpoints, ReceivingOptions options)
    {
        foreach (var (name, content) in options.VerificationFiles)
        {
            endpoints.MapGet("/" + name, () => Results.Text(content, ContentType(name))).ExcludeFromDescription();
        }

        if (string.IsNullOrWhiteSpace(options.VerificationDirectory))
        {
            return;
        }

        var directory = Path.GetFullPath(options.VerificationDirectory);
        endpoints.MapGet("/{file}", (string file) =>
        {
            // Plain names only: no separators, no "..", so nothing outside the folder can be reached; and regular
            // files only: a symbolic link (or any other reparse point) could point anywhere.
            var info = new FileInfo(Path.Combine(directory, file));
            return IsValidName(file) && info.Exists && info.LinkTarget is null && (info.Attributes & FileAttributes.ReparsePoint) == 0
                ? Results.File(info.FullName, ContentType(file))
                : Results.NotFound();
        }).ExcludeFromDescription();
    }

    private static string ContentType(string name) =>
        name.EndsWith(".html", StringComparison.OrdinalIgnoreCase) ? "text/html; charset=utf-8" : "text/plain; charset=utf-8";

    [GeneratedRegex(@"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}\.(html|txt)$")]
    private static partial Regex FileName();
}
