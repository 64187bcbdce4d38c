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
