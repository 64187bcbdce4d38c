using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// <see cref="StringPool"/>: the simulator's nodes keep its copy of each member's name instead of one each. It
/// returns only an equal string, the same copy each time while its slot holds it, and never holds more strings
/// than its table whatever it is given.
/// </summary>
[Trait("Category", "Fast")]
public sealed class StringPoolTests
{
    [Fact]
    public void Equal_strings_decoded_apart_come_back_as_one_copy()
    {
        var pool = new StringPool();
        var first = pool.Intern(new string("n17".AsSpan()));
        var decoded = new string("n17".AsSpan());
        Assert.NotSame(first, decoded);
        Assert.Same(first, pool.Intern(decoded));
        Assert.Equal("n17", pool.Intern(new string("n17".AsSpan())));
        Assert.Equal(1, pool.Count);
    }

    [Fact]
    public void Every_string_comes_back_equal_and_the_pool_never_outgrows_its_table()
    {
        var pool = new StringPool();
        for (var i = 0; i < StringPool.SlotCount * 3; i++)
        {
            var name = $"node-{i}";
            Assert.Equal(name, pool.Intern(name));
        }

        Assert.InRange(pool.Count, StringPool.SlotCount / 2, StringPool.SlotCount);
    }

    [Fact]
    public void Long_strings_are_not_pooled()
    {
        var pool = new StringPool();
        var text = new string('h', StringPool.CharsMax + 1);
        Assert.Same(text, pool.Intern(text));
        Assert.NotSame(text, pool.Intern(new string('h', StringPool.CharsMax + 1)));
        Assert.Equal(0, pool.Count);
        var longest = new string('h', StringPool.CharsMax);
        Assert.Same(longest, pool.Intern(longest));
        Assert.Same(longest, pool.Intern(new string('h', StringPool.CharsMax)));
        Assert.Equal(1, pool.Count);
    }
}
