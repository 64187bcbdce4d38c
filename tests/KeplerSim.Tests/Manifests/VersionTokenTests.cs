using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Manifests;

/// <summary>Reading a version token back from its text (the gateway's <c>?version=</c> check).</summary>
[Trait("Category", "Fast")]
public sealed class VersionTokenTests
{
    [Theory]
    [InlineData(0L, 0, "n1")]
    [InlineData(1_700_000_000_000_000L, 3, "node-with.dots@and-at")]
    [InlineData(long.MaxValue, int.MaxValue, "x")]
    public void TryParse_reads_back_what_ToString_writes(long wall, int logical, string node)
    {
        var token = new VersionToken(wall, logical, new NodeId(node));
        Assert.True(VersionToken.TryParse(token.ToString(), out var parsed), token.ToString());
        Assert.Equal(token, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("1.0")]                       // no node
    [InlineData("1.0@")]                      // empty node
    [InlineData("1@n1")]                      // no logical part
    [InlineData(".0@n1")]                     // no wall part
    [InlineData("-1.0@n1")]                   // signs are not part of the format
    [InlineData("1.-1@n1")]
    [InlineData("1.0x@n1")]
    [InlineData(" 1.0@n1")]
    [InlineData("99999999999999999999.0@n1")] // wall overflows a long
    [InlineData("01.0@n1")]                   // leading zeros named (and served) version 1.0@n1
    [InlineData("1.00@n1")]
    public void TryParse_refuses_anything_else(string text)
    {
        Assert.False(VersionToken.TryParse(text, out var token), text);
        Assert.Equal(default, token);
    }

    [Fact]
    public void TryParse_refuses_a_node_id_over_the_limit()
    {
        var node = new string('n', VersionToken.NodeIdLengthMax + 1);
        Assert.False(VersionToken.TryParse("1.0@" + node, out _));
        Assert.True(VersionToken.TryParse("1.0@" + node[1..], out _));
    }

    [Fact]
    public void TryParse_refuses_null_as_an_argument_error() =>
        Assert.Throws<ArgumentNullException>(() => VersionToken.TryParse(null!, out _));

    /// <summary>The four comparison operators against CompareTo, on equal and on ordered tokens (their mutants
    /// survived Stryker's first Manifests/ run: no test used them at equality).</summary>
    [Fact]
    public void The_operators_agree_with_the_order_including_equality()
    {
        var low = new VersionToken(5, 1, new NodeId("n1"));
        var high = new VersionToken(5, 2, new NodeId("n0"));
        var same = new VersionToken(5, 1, new NodeId("n1"));
        Assert.True(low < high && !(high < low) && !(low < same));
        Assert.True(high > low && !(low > high) && !(low > same));
        Assert.True(low <= high && !(high <= low) && low <= same);
        Assert.True(high >= low && !(low >= high) && low >= same);
    }
}
