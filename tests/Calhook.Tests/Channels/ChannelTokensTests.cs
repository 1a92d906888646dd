using System.Text;
using System.Text.RegularExpressions;
using Calhook.Channels;

namespace Calhook.Tests.Channels;

public sealed class ChannelTokensTests
{
    [Fact]
    public void Channel_ids_are_fresh_and_inside_Google_charset_and_length()
    {
        var ids = Enumerable.Range(0, 1000).Select(_ => ChannelTokens.NewChannelId()).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.All(ids, id => Assert.Matches(new Regex(@"^[A-Za-z0-9\-_+/=]{1,64}$"), id));
    }

    [Fact]
    public void Tokens_carry_at_least_32_random_bytes()
    {
        var a = ChannelTokens.NewToken();
        var b = ChannelTokens.NewToken();
        Assert.NotEqual(a, b);
        Assert.True(Convert.FromBase64String(a.Replace('-', '+').Replace('_', '/') + "=").Length >= 32);
    }

    [Fact]
    public void Only_the_exact_token_matches()
    {
        var token = ChannelTokens.NewToken();
        var expected = Encoding.UTF8.GetBytes(token);
        Assert.True(ChannelTokens.Matches(expected, token));
        Assert.False(ChannelTokens.Matches(expected, token[..^1]));
        Assert.False(ChannelTokens.Matches(expected, token + "x"));
        Assert.False(ChannelTokens.Matches(expected, token[..^1] + (token[^1] == 'A' ? 'B' : 'A')));
        Assert.False(ChannelTokens.Matches(expected, null));
        Assert.False(ChannelTokens.Matches(expected, ""));
        Assert.False(ChannelTokens.Matches(expected, new string('a', 5000)));
    }
}
