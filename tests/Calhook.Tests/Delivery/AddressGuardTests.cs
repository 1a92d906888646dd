using System.Net;
using Calhook.Delivery;
using Calhook.TestKit;

namespace Calhook.Tests.Delivery;

/// <summary>
/// The decision over address values (private ranges are only values here: nothing connects to them), and the
/// connection path over loopback, which the guard treats as private: refused with the switch off, allowed with it on.
/// </summary>
public sealed class AddressGuardTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("224.0.0.1")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("2002:0a00:0001::1")]
    [InlineData("64:ff9b::c0a8:0101")]
    public void Private_loopback_link_local_and_unspecified_addresses_are_private(string address) =>
        AssertPrivate(IPAddress.Parse(address));

    /// <summary>
    /// The private IPv4 ranges (RFC 1918 and link-local, plain and IPv4-mapped), built from their bytes: values for the
    /// decision only, written so that no address of those ranges appears anywhere a request could be aimed.
    /// </summary>
    [Theory]
    [InlineData(new byte[] { 10, 1, 2, 3 }, false)]
    [InlineData(new byte[] { 172, 16, 0, 1 }, false)]
    [InlineData(new byte[] { 172, 31, 255, 255 }, false)]
    [InlineData(new byte[] { 192, 168, 1, 1 }, false)]
    [InlineData(new byte[] { 169, 254, 169, 254 }, false)]
    [InlineData(new byte[] { 10, 0, 0, 1 }, true)]
    public void Private_ipv4_ranges_are_private(byte[] bytes, bool mappedToIpv6)
    {
        var address = new IPAddress(bytes);
        AssertPrivate(mappedToIpv6 ? address.MapToIPv6() : address);
    }

    private static void AssertPrivate(IPAddress address)
    {
        Assert.True(AddressGuard.IsPrivate(address));
        Assert.False(AddressGuard.MayConnect(address, allowPrivateNetworks: false));
        Assert.True(AddressGuard.MayConnect(address, allowPrivateNetworks: true));
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("192.169.0.1")]
    [InlineData("2001:4860:4860::8888")]
    [InlineData("::ffff:8.8.8.8")]
    public void Public_addresses_are_not_private(string address)
    {
        Assert.False(AddressGuard.IsPrivate(IPAddress.Parse(address)));
        Assert.True(AddressGuard.MayConnect(IPAddress.Parse(address), allowPrivateNetworks: false));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task With_private_networks_off_a_loopback_target_is_refused_before_connecting(string host)
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        using var client = new WebhookClient(allowPrivateNetworks: false, TimeSpan.FromSeconds(5), 1024, TimeProvider.System);
        var url = new Uri($"http://{host}:{receiver.BaseAddress.Port}/hooks");

        var result = await client.SendAsync(url, Message(), CancellationToken.None);

        Assert.Null(result.StatusCode);
        Assert.Contains("AllowPrivateNetworks", result.Error, StringComparison.Ordinal);
        Assert.Empty(receiver.Requests);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("localhost")]
    public async Task With_private_networks_on_a_loopback_target_is_reached(string host)
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        using var client = new WebhookClient(allowPrivateNetworks: true, TimeSpan.FromSeconds(5), 1024, TimeProvider.System);
        var url = new Uri($"http://{host}:{receiver.BaseAddress.Port}/hooks");

        var result = await client.SendAsync(url, Message(), CancellationToken.None);

        Assert.Equal(200, result.StatusCode);
        Assert.Single(receiver.Requests);
    }

    [Fact]
    public async Task Redirects_are_not_followed()
    {
        await using var receiver = await LoopbackReceiver.StartAsync();
        receiver.RespondWith(307, headers: new Dictionary<string, string> { ["Location"] = receiver.BaseAddress + "elsewhere" });
        using var client = new WebhookClient(allowPrivateNetworks: true, TimeSpan.FromSeconds(5), 1024, TimeProvider.System);

        var result = await client.SendAsync(new Uri(receiver.BaseAddress, "hooks"), Message(), CancellationToken.None);

        Assert.Equal(307, result.StatusCode);
        Assert.False(result.Succeeded);
        Assert.Single(receiver.Requests);
    }

    private static WebhookMessage Message() => new("chg_1", DateTimeOffset.UnixEpoch, "{}", "v1,x");
}
