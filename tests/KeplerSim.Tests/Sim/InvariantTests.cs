using KeplerSim.Core;

namespace KeplerSim.Tests.Sim;

public sealed class InvariantTests
{
    [Fact]
    public void An_interpolated_message_is_formatted_only_when_the_condition_fails()
    {
        var formatted = 0;
        string Name()
        {
            formatted++;
            return "n1";
        }

        Invariant.That(true, $"seam of {Name()} used outside its logical thread");
        Assert.Equal(0, formatted); // A check that holds formats nothing (it runs before every simulated I/O call).

        var failure = Assert.Throws<InvariantViolationException>(
            () => Invariant.That(false, $"seam of {Name()} used outside its logical thread ({42:D4})"));
        Assert.Equal("seam of n1 used outside its logical thread (0042)", failure.Message);
        Assert.Equal(1, formatted);
    }

    [Fact]
    public void A_plain_message_is_thrown_as_given()
    {
        Invariant.That(true, "never thrown");
        var failure = Assert.Throws<InvariantViolationException>(() => Invariant.That(false, "queue negative"));
        Assert.Equal("queue negative", failure.Message);
    }
}
