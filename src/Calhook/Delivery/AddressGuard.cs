using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace Calhook.Delivery;

/// <summary>
/// Keeps webhooks off the service's own network: loopback, link-local, private, shared (CGNAT), unspecified, multicast
/// and broadcast addresses are refused unless private networks are allowed. The check runs on every address a name
/// resolves to, at connect time (<see cref="ConnectAsync"/>), so a public name pointing at 127.0.0.1 is refused too.
/// </summary>
internal static class AddressGuard
{
    /// <summary>True for an address a webhook must not reach unless private networks are allowed. Pure.</summary>
    public static bool IsPrivate(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 0                                  // 0.0.0.0/8 "this network", incl. unspecified
                || b[0] == 10                                 // 10.0.0.0/8
                || b[0] == 127                                // loopback
                || (b[0] == 100 && b[1] is >= 64 and <= 127)  // 100.64.0.0/10 shared address space (CGNAT)
                || (b[0] == 169 && b[1] == 254)               // link-local (cloud metadata endpoints live here)
                || (b[0] == 172 && b[1] is >= 16 and <= 31)   // 172.16.0.0/12
                || (b[0] == 192 && b[1] == 168)               // 192.168.0.0/16
                || (b[0] == 192 && b[1] == 0 && b[2] == 0)    // 192.0.0.0/24 protocol assignments
                || (b[0] == 198 && b[1] is 18 or 19)          // 198.18.0.0/15 benchmarking
                || b[0] >= 224;                               // multicast, reserved, broadcast
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return address.Equals(IPAddress.IPv6Loopback)
                || address.Equals(IPAddress.IPv6None)         // :: unspecified
                || address.IsIPv6LinkLocal                    // fe80::/10
                || address.IsIPv6SiteLocal                    // fec0::/10 (deprecated, still private)
                || address.IsIPv6Multicast                    // ff00::/8
                || (b[0] & 0xFE) == 0xFC                      // fc00::/7 unique local
                || (b[0] == 0x20 && b[1] == 0x02 && IsPrivate(new IPAddress(b.AsSpan(2, 4)))) // 6to4 wrapping a private v4
                || (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && IsPrivate(new IPAddress(b.AsSpan(12, 4)))); // NAT64
        }

        return true;
    }

    /// <summary>Whether an attempt may connect to <paramref name="address"/>. Pure.</summary>
    public static bool MayConnect(IPAddress address, bool allowPrivateNetworks) => allowPrivateNetworks || !IsPrivate(address);

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/>: resolves the host, keeps the addresses
    /// <paramref name="mayConnect"/> accepts, and connects to the first that answers. Throws
    /// <see cref="AddressRefusedException"/> when every address is refused.
    /// </summary>
    public static async ValueTask<Stream> ConnectAsync(
        SocketsHttpConnectionContext context, Func<IPAddress, bool> mayConnect, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(mayConnect).ToList();
        if (allowed.Count == 0)
        {
            throw new AddressRefusedException(
                $"'{host}' resolves only to addresses webhooks may not reach ({string.Join(", ", addresses.Select(a => a.ToString()))}); " +
                "set Calhook:Delivery:AllowPrivateNetworks to allow loopback and private networks.");
        }

        Exception? last = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException error)
            {
                socket.Dispose();
                last = error;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }
}

/// <summary>The address guard refused every address of a webhook's host.</summary>
internal sealed class AddressRefusedException(string message) : IOException(message);
