using KeplerSim.Core.Node;
using KeplerSim.Core.Transfer;

namespace KeplerSim.Sim.KeplerFs;

/// <summary>
/// The transfer connection counters of every KeplerFS node incarnation of one run (a crash discards a node's
/// program, not what it counted): the report's <c>transfer.connections.*</c>, <c>transfer.refused.*</c>,
/// <c>transfer.evicted.*</c> and <c>transfer.served.*</c> metrics.
/// </summary>
public sealed class SimTransferCounts
{
    /// <summary>The key under which <see cref="Scenarios.ProtocolRunState"/> holds the counts.</summary>
    public const string RunStateKey = "transfer-counts";

    private readonly List<NodeMetrics> _incarnations = [];

    /// <summary>Counts the incarnation whose counters are <paramref name="metrics"/> from now on.</summary>
    public void Add(NodeMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _incarnations.Add(metrics);
    }

    /// <summary>
    /// The run's totals by metric name (the <c>.peak</c> ones: the most any incarnation served at once); empty when
    /// no KeplerFS node ran.
    /// </summary>
    public IEnumerable<(string Name, long Value)> Totals() => _incarnations.Count == 0
        ? []
        :
        [
            ("transfer.connections.opened", _incarnations.Sum(m => m.TransferConnectionsOpened)),
            ("transfer.connections.reused", _incarnations.Sum(m => m.TransferConnectionsReused)),
            ("transfer.connections.stale", _incarnations.Sum(m => m.TransferConnectionsStale)),
            ("transfer.refused.node", _incarnations.Sum(m => m.TransferConnectionsRefusedNode)),
            ("transfer.refused.peer", _incarnations.Sum(m => m.TransferConnectionsRefusedPeer)),
            ("transfer.evicted.node", _incarnations.Sum(m => m.TransferConnectionsEvictedNode)),
            ("transfer.evicted.peer", _incarnations.Sum(m => m.TransferConnectionsEvictedPeer)),
            ("transfer.served.peak", _incarnations.Max(m => m.TransferConnectionsServedPeak)),
            ("transfer.served.peak_per_peer", _incarnations.Max(m => m.TransferConnectionsServedPerPeerPeak)),
            ("repair.offers", _incarnations.Sum(m => m.RepairOffers)),
            ("repair.offers.failed", _incarnations.Sum(m => m.RepairOffersFailed)),
            ("repair.chunks.offered", _incarnations.Sum(m => m.RepairChunksOffered)),
            ("repair.chunks.confirmed", _incarnations.Sum(m => m.RepairChunksConfirmed)),
            .. StreamTrafficCounts.Kinds.Select(kind => (BytesSentMetric(kind),
                _incarnations.Sum(m => m.StreamTraffic.BytesSent(kind)))),
        ];

    /// <summary>
    /// The metric of the plain stream bytes every node sent for <paramref name="kind"/>:
    /// <c>bytes.streamed.chunk_store</c>, ….
    /// </summary>
    public static string BytesSentMetric(StreamTrafficKind kind) =>
        "bytes.streamed." + StreamTrafficCounts.NameOf(kind);
}
