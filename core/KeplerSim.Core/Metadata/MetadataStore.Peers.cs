using KeplerSim.Core.Runtime;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Metadata;

public sealed partial class MetadataStore
{
    private const string PeerColumns = "id, addr, gossip_port, transfer_port, last_seen, status, incarnation";

    /// <summary>Records a peer, replacing every field of an earlier record.</summary>
    public void UpsertPeer(PeerRow peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        Check.Node(peer.Id, nameof(peer));
        Check.Id(peer.Address, nameof(peer));
        Check.Port(peer.GossipPort, nameof(peer));
        Check.Port(peer.TransferPort, nameof(peer));
        Check.NonNegative(peer.Incarnation, nameof(peer));
        _peerSql.Upsert.NonQuery(peer.Id.Value, peer.Address, peer.GossipPort, peer.TransferPort, peer.LastSeenUs,
            StatusText(peer.Status), peer.Incarnation);
    }

    /// <summary>Returns the peer's record, or null.</summary>
    public PeerRow? GetPeer(NodeId id)
    {
        Check.Node(id, nameof(id));
        return _peerSql.Get.Single(ReadPeer, id.Value);
    }

    /// <summary>Known peers ordered by id, starting after <paramref name="afterId"/>.</summary>
    public IReadOnlyList<PeerRow> ListPeers(NodeId? afterId = null, int limit = ListBatchMax)
    {
        Check.Limit(limit, ListBatchMax, nameof(limit));
        return _peerSql.List.Rows(ReadPeer, limit, afterId?.Value ?? string.Empty, limit);
    }

    private static PeerRow ReadPeer(SqliteDataReader reader) => new(
        new NodeId(reader.GetString(0)),
        reader.GetString(1),
        reader.GetInt32(2),
        reader.GetInt32(3),
        reader.GetInt64(4),
        ParseStatus(reader.GetString(5)),
        reader.GetInt64(6));

    private static string StatusText(PeerStatus status) => status switch
    {
        PeerStatus.Alive => "alive",
        PeerStatus.Suspect => "suspect",
        PeerStatus.Dead => "dead",
        PeerStatus.Left => "left",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown peer status"),
    };

    private static PeerStatus ParseStatus(string text) => text switch
    {
        "alive" => PeerStatus.Alive,
        "suspect" => PeerStatus.Suspect,
        "dead" => PeerStatus.Dead,
        "left" => PeerStatus.Left,
        _ => throw new InvariantViolationException($"peers.status holds unknown value '{text}'"),
    };

    private sealed class PeerSql(Func<string, string[], Statement> prepare)
    {
        public Statement Upsert { get; } = prepare(
            $"INSERT INTO peers({PeerColumns}) VALUES ($id, $addr, $gossip, $transfer, $seen, $status, $inc) " +
            "ON CONFLICT(id) DO UPDATE SET addr = excluded.addr, gossip_port = excluded.gossip_port, " +
            "transfer_port = excluded.transfer_port, last_seen = excluded.last_seen, status = excluded.status, " +
            "incarnation = excluded.incarnation",
            ["$id", "$addr", "$gossip", "$transfer", "$seen", "$status", "$inc"]);

        public Statement Get { get; } = prepare($"SELECT {PeerColumns} FROM peers WHERE id = $id", ["$id"]);

        public Statement List { get; } = prepare(
            $"SELECT {PeerColumns} FROM peers WHERE id > $after ORDER BY id LIMIT $limit", ["$after", "$limit"]);
    }
}
