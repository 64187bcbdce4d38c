using KeplerSim.Core.Metadata;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Metadata;

[Trait("Category", "Fast")]
public sealed class MetadataPeerTests
{
    [Fact]
    public void Peers_upsert_and_list_in_id_order()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var c = new PeerRow(Rows.NodeC, "10.0.0.3", 4003, 5003, 100, PeerStatus.Alive, 0);
        var a = new PeerRow(Rows.NodeA, "10.0.0.1", 4001, 5001, 100, PeerStatus.Alive, 0);
        store.UpsertPeer(c);
        store.UpsertPeer(a);
        var suspect = a with { Status = PeerStatus.Suspect, LastSeenUs = 200, Incarnation = 3 };
        store.UpsertPeer(suspect);
        Assert.Equal([suspect, c], store.ListPeers());
        Assert.Equal([c], store.ListPeers(afterId: Rows.NodeA));
        Assert.Equal([suspect], store.ListPeers(limit: 1));
        Assert.Equal(suspect, store.GetPeer(Rows.NodeA));
        Assert.Null(store.GetPeer(new NodeId("node-z")));

        Assert.Throws<ArgumentOutOfRangeException>(() => store.UpsertPeer(a with { GossipPort = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.UpsertPeer(a with { Incarnation = -1 }));
        Assert.Throws<ArgumentException>(() => store.UpsertPeer(a with { Address = "" }));
    }

    [Fact]
    public void Meta_values_round_trip()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        Assert.Null(store.GetMeta("node_id"));
        store.SetMeta("node_id", "node-a");
        store.SetMeta("node_id", "node-b");
        Assert.Equal("node-b", store.GetMeta("node_id"));
        var tooLong = new string('x', MetadataStore.MetaValueLengthMax + 1);
        Assert.Throws<ArgumentException>(() => store.SetMeta("k", tooLong));
    }
}
