using KeplerSim.Core.Membership;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Transfer;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// Stream bytes are counted by what the exchange was for (docs/BENCHMARKS.md, "Bytes between nodes"): the request
/// sets the kind, on the requesting side when it sends it and on the serving side when it receives it, and every
/// frame of the exchange counts under it.
/// </summary>
[Trait("Category", "Fast")]
public sealed class StreamTrafficTests
{
    private const int C = KeplerCluster.ChunkSize;

    public static TheoryData<TransferFrame, StreamTrafficKind?> Frames => new()
    {
        { new StoreChunkRequest("c", 1, "n1"), StreamTrafficKind.ChunkStore },
        { new FetchChunkRequest("c"), StreamTrafficKind.ChunkFetch },
        { new PutManifestRequest([1, 2]), StreamTrafficKind.ManifestPut },
        { new GetManifestRequest("p"), StreamTrafficKind.ManifestGet },
        { new SyncRequest(new ulong[4]), StreamTrafficKind.AntiEntropy },
        { new AbandonChunksRequest("r", ["c"]), StreamTrafficKind.Abandon },
        { new OfferChunksRequest([new ChunkOffer("c", 1)]), StreamTrafficKind.RepairOffer },
        { new OfferChunksReply([0]), null },
        { new ChunkDataFrame(new byte[10]), null },
        { new StoreChunkReply("c", true, null), null },
        { new StoreChunkReady("c"), null },
        { new FetchChunkReply("c", true, 1, null), null },
        { new PutManifestReply(true, null), null },
        { new SyncReply([], []), null },
        { new SyncPush([]), null },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public void A_request_frame_starts_its_kind_and_every_other_frame_continues_the_exchange(TransferFrame frame,
        StreamTrafficKind? expected) =>
        Assert.Equal(expected, StreamTrafficCounts.KindStartedBy(FrameCodec.Encode(frame)));

    /// <summary>
    /// Only a two-element array (0x92) whose first element is a request's union key starts a kind: another array
    /// size, or a frame too short for a key, continues the exchange (Stryker survivors of KindStartedBy's guard:
    /// without it a <c>[0x93, 0]</c> frame counted as a chunk store and a one-byte frame threw).
    /// </summary>
    public static TheoryData<byte[], StreamTrafficKind?> RawFrames => new()
    {
        { [], null },
        { [0x92], null },
        { [0x93, 0x00, 0x00], null },
        { [0x91, 0x00], null },
        { [0x92, 0x00], StreamTrafficKind.ChunkStore },
        { [0x92, 0x03, 0xC0], StreamTrafficKind.ChunkFetch },
    };

    [Theory]
    [MemberData(nameof(RawFrames))]
    public void Only_a_union_header_with_a_request_key_starts_a_kind(byte[] frame, StreamTrafficKind? expected) =>
        Assert.Equal(expected, StreamTrafficCounts.KindStartedBy(frame));

    /// <summary>The label values of <c>kepler_transfer_sent_bytes_total{kind=...}</c> and the bench's rows.</summary>
    [Theory]
    [InlineData(StreamTrafficKind.Other, "other")]
    [InlineData(StreamTrafficKind.ChunkStore, "chunk_store")]
    [InlineData(StreamTrafficKind.ChunkFetch, "chunk_fetch")]
    [InlineData(StreamTrafficKind.ManifestPut, "manifest_put")]
    [InlineData(StreamTrafficKind.ManifestGet, "manifest_get")]
    [InlineData(StreamTrafficKind.AntiEntropy, "anti_entropy")]
    [InlineData(StreamTrafficKind.Abandon, "abandon")]
    [InlineData(StreamTrafficKind.Swim, "swim")]
    [InlineData(StreamTrafficKind.RepairOffer, "repair_offer")]
    public void Every_kind_has_its_metric_name(StreamTrafficKind kind, string name) =>
        Assert.Equal(name, StreamTrafficCounts.NameOf(kind));

    [Fact]
    public void The_counting_network_refuses_a_null_acceptor()
    {
        var (sim, node) = SimHarness.OneIdleNode(seed: 15);
        using var _ = sim;
        var network = new CountingStreamNetwork(node.Runtime!.Streams, new StreamTrafficCounts());
        Assert.Throws<ArgumentNullException>(() => network.SetAcceptor(null!));
    }

    [Fact]
    public void A_swim_stream_frame_is_swim_traffic() =>
        Assert.Equal(StreamTrafficKind.Swim,
            StreamTrafficCounts.KindStartedBy(SwimCodec.EncodeFrame(new SwimStreamPing(1, "n2"))));

    [Fact]
    public void A_put_counts_its_chunks_and_manifest_on_the_sender_and_the_replies_on_the_receiver()
    {
        var quiet = new KeplerOptions
        {
            ChunkSizeBytes = C,
            ReplicationFactor = 2,
            AntiEntropyIntervalMicroseconds = 600 * SimHarness.Second,
            RepairScanIntervalMicroseconds = 3_600 * SimHarness.Second,
            ScrubChunksPerSecond = 0,
            ClusterKey = new SimClusterKeys(seed: 14, enabled: true).Keyring(["a"]),
        };
        using var cluster = KeplerCluster.Create(2, seed: 14, quiet, membership: MembershipMode.Static);
        var sender = cluster.Kepler(0).Metrics.StreamTraffic;
        var receiver = cluster.Kepler(1).Metrics.StreamTraffic;

        cluster.Put(0, "f", KeplerCluster.Bytes(3 * C, 1), Durability.All);

        // The sender's chunk bytes, each in a data frame of its store exchange, plus the offers.
        Assert.InRange(sender.BytesSent(StreamTrafficKind.ChunkStore), 3 * C, 3 * C + 3 * 512);
        Assert.InRange(sender.BytesSent(StreamTrafficKind.ManifestPut), 100, 2_000);
        // The receiver only answers: a ready and a reply per chunk, under the kind the sender's request set.
        Assert.Equal(6, receiver.FramesSent(StreamTrafficKind.ChunkStore));
        Assert.InRange(receiver.BytesSent(StreamTrafficKind.ChunkStore), 1, 3 * 512);
        Assert.Equal(1, receiver.FramesSent(StreamTrafficKind.ManifestPut));
        foreach (var kind in new[] { StreamTrafficKind.Other, StreamTrafficKind.ChunkFetch,
                     StreamTrafficKind.AntiEntropy, StreamTrafficKind.Swim })
        {
            Assert.Equal(0, sender.BytesSent(kind) + receiver.BytesSent(kind));
        }

        // The plain bytes counted are what the transport carried, less the cluster key's tags and handshake.
        var plain = StreamTrafficCounts.Kinds.Sum(k => sender.BytesSent(k) + receiver.BytesSent(k));
        var carried = cluster.Sim.Network.StreamBytes.Values.Sum();
        Assert.InRange(carried - plain, 1, 1_000);
    }
}
