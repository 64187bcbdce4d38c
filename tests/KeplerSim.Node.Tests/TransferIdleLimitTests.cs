using KeplerSim.Core.Node;
using KeplerSim.Node.Runtime;

namespace KeplerSim.Node.Tests;

/// <summary>
/// How the idle limits of a reused transfer connection relate (docs/PROTOCOL.md, "Transfer connections"): the
/// requesting side gives a pooled connection up before the serving side closes it (so a request rarely meets a
/// connection its peer is closing), and the serving side closes an idle one before the TCP transport's own read
/// timeout would break it.
/// </summary>
[Trait("Category", "Fast")]
public sealed class TransferIdleLimitTests
{
    [Fact]
    public void A_pooled_connection_expires_first_then_the_served_side_then_the_tcp_read_timeout()
    {
        var pooled = TimeSpan.FromMicroseconds(KeplerNode.PooledConnectionIdleMicrosecondsMax);
        var served = TimeSpan.FromMicroseconds(KeplerNode.ServedConnectionIdleMicrosecondsMax);
        Assert.True(pooled * 2 <= served, $"pooled {pooled} vs served {served}: clock drift needs a margin");
        Assert.True(served < StreamTimeouts.Default.IdleReadTimeout,
            $"served {served} vs TCP read timeout {StreamTimeouts.Default.IdleReadTimeout}");
    }
}
