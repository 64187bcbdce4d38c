using System.IO.Hashing;
using System.Runtime.InteropServices;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Replication;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Tests.Node;

using static KeplerSim.Tests.Transfer.CraftedExchange;

namespace KeplerSim.Tests.Replication;

/// <summary>
/// The responder's side of an anti-entropy round (docs/PROTOCOL.md, "Anti-entropy"), crafted on a raw connection
/// from n1 to n2 (<see cref="Transfer.CraftedExchange"/>): a round ends where the protocol says (a matching summary
/// at the reply, a matching digest at its empty answer), so the connection serves the next request; a digest or a
/// push that breaks the protocol is refused with a clear error, counted, and applies nothing; a push of exactly
/// the frame's limit is applied whole. Written for the Stryker survivors of Replication/AntiEntropy.cs
/// (docs/mutation/replication-survivors-2026-12-07.tsv): a node's own client never sends these, so each
/// survived every round two nodes ran.
/// </summary>
[Trait("Category", "Fast")]
public sealed class AntiEntropyServeTests
{
    /// <summary>The digest of a node that holds no version: every bucket hash zero.</summary>
    private static readonly ulong[] Empty = new ulong[AntiEntropy.SyncBuckets];

    [Fact]
    public void A_matching_summary_ends_the_round_at_the_reply_and_the_connection_serves_on()
    {
        // Kills AntiEntropy.cs:154 ("if (!differs)" negated) and 156 (its "return" removed): n2 then waited for a
        // full digest that never comes, and took the initiator's next request for one.
        using var cluster = Create(seed: 41, Quiet);
        var (reply, servesOn) = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new SyncRequest([], Summary(Empty)));
            var reply = await connection.ReceiveAsync<SyncReply>();
            return (reply, await ServesOnAsync(connection));
        });
        Assert.False(reply.DigestWanted);
        Assert.Empty(reply.Buckets);
        Assert.True(servesOn, "n2 answered the next request on the connection");
        Assert.Equal(0, cluster.Kepler(1).Metrics.MalformedFrames);
    }

    [Fact]
    public void A_summary_that_differs_asks_for_the_digest_and_a_round_then_runs_to_its_push()
    {
        using var cluster = Create(seed: 42, Quiet);
        var digest = (ulong[])Empty.Clone();
        digest[5] = 1;
        var (wanted, reply, servesOn) = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new SyncRequest([], Summary(digest)));
            var wanted = (await connection.ReceiveAsync<SyncReply>()).DigestWanted;
            await connection.SendAsync(new SyncRequest(digest, From: "n1"));
            var reply = await connection.ReceiveAsync<SyncReply>();
            await connection.SendAsync(new SyncPush([]));
            return (wanted, reply, await ServesOnAsync(connection));
        });
        Assert.True(wanted);
        Assert.Equal([5], reply.Buckets);
        Assert.Empty(reply.Manifests);
        Assert.True(servesOn, "n2 answered the next request on the connection");
    }

    [Fact]
    public void A_matching_digest_is_answered_with_no_bucket_and_the_connection_serves_on()
    {
        // Kills AntiEntropy.cs:172 ("differing.Length > 0" as ">= 0"): n2 then waited for a push the initiator
        // does not send when no bucket differs, and took its next request for one.
        using var cluster = Create(seed: 43, Quiet);
        var (reply, servesOn) = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new SyncRequest(Empty, From: "n1"));
            var reply = await connection.ReceiveAsync<SyncReply>();
            return (reply, await ServesOnAsync(connection));
        });
        Assert.Empty(reply.Buckets);
        Assert.True(servesOn, "n2 answered the next request on the connection");
    }

    [Fact]
    public void A_digest_with_another_number_of_buckets_is_refused_with_a_clear_error()
    {
        // Kills AntiEntropy.cs:165 (the error's text emptied; it reaches operators as the malformed frame event).
        using var cluster = Create(seed: 44, Quiet);
        using var malformed = Malformed(cluster, out var reasons);
        var servesOn = Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new SyncRequest(new ulong[10], From: "n1"));
            return await ServesOnAsync(connection);
        });
        Assert.False(servesOn, "n2 closed the connection");
        Assert.Equal(1, cluster.Kepler(1).Metrics.MalformedFrames);
        Assert.Equal(["digest has 10 buckets; expected 256"], reasons);
    }

    [Fact]
    public void A_push_over_the_frame_limit_is_refused_and_applies_nothing_and_one_at_the_limit_is_applied()
    {
        // Kills AntiEntropy.cs:228 ("> SyncManifestsPerFrameMax" as ">=": a frame at the limit, which a node's own
        // EncodeBuckets sends, was refused) and 230 (the check's throw removed, never reached before: 257
        // manifests were applied; its text emptied).
        using var cluster = Create(seed: 45, Quiet);
        var n2 = cluster.Kepler(1);
        n2.ApplyManifest(Version(n2, "held", 1)); // One bucket differs from an empty digest: n2 expects a push.
        using var malformed = Malformed(cluster, out var reasons);
        var over = Enumerable.Range(0, AntiEntropy.SyncManifestsPerFrameMax + 1)
            .Select(i => Version(cluster.Kepler(0), $"over/{i}", i)).ToList();
        Assert.False(Push(cluster, over), "n2 closed the connection");
        Assert.Equal(["sync frame carries 257 manifests; the limit is 256"], reasons);
        Assert.All(over, m => Assert.Null(n2.Meta.GetWinner(m.Path.Value)));

        var limit = over.Take(AntiEntropy.SyncManifestsPerFrameMax).ToList();
        Assert.True(Push(cluster, limit), "n2 answered the next request on the connection");
        Assert.All(limit, m => Assert.NotNull(n2.Meta.GetWinner(m.Path.Value)));
        Assert.Equal(1, n2.Metrics.MalformedFrames);
    }

    /// <summary>A round from an empty digest whose push carries <paramref name="manifests"/>; whether n2 then
    /// answered the next request on the connection.</summary>
    private static bool Push(KeplerCluster cluster, IReadOnlyList<Manifest> manifests) =>
        Exchange(cluster, async connection =>
        {
            await connection.SendAsync(new SyncRequest(Empty));
            Assert.NotEmpty((await connection.ReceiveAsync<SyncReply>()).Buckets);
            await connection.SendAsync(new SyncPush([.. manifests.Select(ManifestCodec.Encode)]));
            return await ServesOnAsync(connection);
        });

    /// <summary>Whether the responder answers a manifest lookup next on the connection (it closes it after a
    /// frame that breaks the protocol).</summary>
    private static async Task<bool> ServesOnAsync(IStreamConnection connection)
    {
        try
        {
            await connection.SendAsync(new GetManifestRequest("absent"));
            return (await connection.ReceiveAsync<GetManifestReply>()).Manifest is null;
        }
        catch (Exception e) when (e is ProtocolException or StreamBrokenException)
        {
            return false;
        }
    }

    /// <summary>Collects in <paramref name="reasons"/> the malformed frames n2 reports until disposed.</summary>
    private static IDisposable Malformed(KeplerCluster cluster, out List<string> reasons)
    {
        var list = reasons = [];
        return cluster.Nodes[1].Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is MalformedFrame frame)
            {
                list.Add(frame.Reason);
            }
        });
    }

    /// <summary>A digest's summary, as AntiEntropy computes it.</summary>
    private static ulong Summary(ulong[] digest) => XxHash64.HashToUInt64(MemoryMarshal.AsBytes(digest.AsSpan()));

    /// <summary>A one-chunk version of <paramref name="path"/> by <paramref name="node"/>.</summary>
    private static Manifest Version(KeplerNode node, string path, int seed)
    {
        var data = KeplerCluster.Bytes(100, seed);
        return Manifest.Create(FilePath.Parse(path), data.Length, [ChunkId.FromContent(data)], 1024,
            new VersionToken(node.Clock.Now().WallMicroseconds, seed, node.Id), node.Id);
    }
}
