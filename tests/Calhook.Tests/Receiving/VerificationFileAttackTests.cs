using System.Net;
using Calhook.TestKit;

namespace Calhook.Tests.Receiving;

/// <summary>The verification-files folder serves its own regular files and nothing a link inside it points at.</summary>
public sealed class VerificationFileAttackTests
{
    [Fact]
    public async Task A_symlink_in_the_verification_folder_is_not_served()
    {
        using var root = new TestDirectory();
        var folder = Directory.CreateDirectory(root.File("verification")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "google1234abcd.html"), "google-site-verification: google1234abcd.html");
        var secret = root.File("secret.txt");
        await File.WriteAllTextAsync(secret, "a file outside the folder");
        File.CreateSymbolicLink(Path.Combine(folder, "google-linked.html"), secret);
        Directory.CreateDirectory(Path.Combine(folder, "subfolder.html"));

        var options = new CalhookTestHostOptions();
        options.Settings["Calhook:Receiving:VerificationDirectory"] = folder;
        await using var host = await CalhookTestHost.StartAsync(options);
        using var anonymous = host.CreateAnonymousClient();

        var regular = await anonymous.GetAsync(new Uri("/google1234abcd.html", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, regular.StatusCode);
        Assert.Equal("google-site-verification: google1234abcd.html", await regular.Content.ReadAsStringAsync());

        var linked = await anonymous.GetAsync(new Uri("/google-linked.html", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, linked.StatusCode);
        Assert.DoesNotContain("outside the folder", await linked.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(new Uri("/subfolder.html", UriKind.Relative))).StatusCode);
    }
}
