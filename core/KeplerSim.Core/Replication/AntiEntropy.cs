using System.IO.Hashing;
using System.Text;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Transfer;

namespace KeplerSim.Core.Replication;

/// <summary>
/// Manifest anti-entropy (push-pull): every few seconds a node sends a random peer the summary of its digest (one
/// hash per bucket of paths); when the peer's differs, the full digest follows, the peer answers with its versions
/// in the buckets that differ and the initiator pushes its own back.
/// Every version (winners, conflicts, history, tombstones) takes part, so both ends converge on the same set
/// and hence the same winners. Bucket hashes are XORs of version ids, kept up to date incrementally.
/// </summary>
internal sealed class AntiEntropy(IAntiEntropyContext node, TransferChannel channel, NodeRuntime runtime,
    KeplerOptions options)
{
    /// <summary>Buckets in a digest.</summary>
    public const int SyncBuckets = 256;

    /// <summary>Most buckets exchanged in one round.</summary>
    public const int SyncBucketsPerRoundMax = 16;

    /// <summary>Most manifests carried in one sync frame (the rest follow next round).</summary>
    public const int SyncManifestsPerFrameMax = 256;

    /// <summary>Most encoded manifest bytes in one sync frame.</summary>
    public const int SyncFrameBytesMax = 768 * 1024;

    private readonly ulong[] _bucketHashes = new ulong[SyncBuckets];
    private readonly SortedDictionary<int, SortedSet<string>> _bucketVersions = [];

    /// <summary>Anti-entropy rounds completed as initiator.</summary>
    public long SyncRounds { get; private set; }

    /// <summary>Loads the digest of every version on record and schedules the first round.</summary>
    public void Start()
    {
        for (var page = node.Meta.ListAllFileVersions(); page.Count > 0;
             page = node.Meta.ListAllFileVersions(page[^1].Id))
        {
            foreach (var row in page)
            {
                TrackVersion(row.Path, row.Id);
            }
        }

        ScheduleSync();
    }

    private void ScheduleSync()
    {
        var interval = options.AntiEntropyIntervalMicroseconds;
        runtime.Clock.Schedule(runtime.Random.NextLong(interval / 2, interval * 3 / 2 + 1),
            () => runtime.Supervisor.Run("antientropy.round", SyncRoundAsync));
    }

    /// <summary>Adds a newly recorded version to the digest.</summary>
    public void TrackVersion(string path, string rowId)
    {
        var bucket = BucketOf(path);
        if (!_bucketVersions.TryGetValue(bucket, out var ids))
        {
            _bucketVersions[bucket] = ids = new SortedSet<string>(StringComparer.Ordinal);
        }

        if (ids.Add(rowId))
        {
            _bucketHashes[bucket] ^= XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(rowId));
        }
    }

    private static int BucketOf(string path) =>
        (int)(XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(path)) % SyncBuckets);

    private async Task SyncRoundAsync()
    {
        try
        {
            var peers = node.Cluster.Members.Where(m => m.Id != node.Self).ToList();
            if (peers.Count > 0)
            {
                await SyncWithAsync(peers[runtime.Random.NextInt(peers.Count)].Id);
            }
        }
        catch (Exception e) when (TransferChannel.IsTransferFailure(e) || e is InvalidManifestException)
        {
            // The peer is down, partitioned or misbehaving; another peer is chosen next round.
        }
        finally
        {
            ScheduleSync();
        }
    }

    /// <summary>
    /// One round with <paramref name="peer"/>, on a reused transfer connection when one is idle. It opens with the
    /// digest's summary (8 bytes): two nodes that hold the same versions, the steady state, exchange nothing more.
    /// Only when the summaries differ does the full digest (one hash per bucket) follow.
    /// </summary>
    private async Task SyncWithAsync(NodeId peer)
    {
        await channel.ExchangeAsync(peer, async connection =>
        {
            var digest = (ulong[])_bucketHashes.Clone();
            var reply = runtime.Buggify.Hit("antientropy.full_digest") ? null
                : await RequestAsync(connection, new SyncRequest([], Summary(digest)));
            if (reply is null || reply.DigestWanted)
            {
                reply = await RequestAsync(connection, new SyncRequest(digest, From: node.Self.Value));
            }

            // The push carries this node's versions as they were before the reply: the versions it just learned
            // from the peer would only go back to it, and would hide from the peer what this node lacked.
            var ours = EncodeBuckets(reply.Buckets.Where(b => b is >= 0 and < SyncBuckets).Distinct()
                .Take(SyncBucketsPerRoundMax));
            var theirs = ApplyAll(reply.Manifests);
            if (reply.Buckets.Length > 0)
            {
                await channel.WithTimeoutAsync(connection.SendAsync(new SyncPush(ours)), connection, "sync push");
                node.OfferChunksOf(peer, Lacked(ours, theirs));
            }

            connection.Finish();
            return true;
        });
        SyncRounds++;
    }

    private async Task<SyncReply> RequestAsync(IStreamConnection connection, SyncRequest request)
    {
        await channel.WithTimeoutAsync(connection.SendAsync(request), connection, "sync request");
        return await channel.WithTimeoutAsync(connection.ReceiveAsync<SyncReply>(), connection, "sync reply");
    }

    /// <summary>The summary of a digest: a hash of its bucket hashes, so equal summaries mean equal digests.</summary>
    private static ulong Summary(ulong[] digest) =>
        XxHash64.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(digest.AsSpan()));

    /// <summary>
    /// Answers a peer's round: to a summary, nothing more when it matches this node's, else a request for the full
    /// digest (which follows on the same connection); to a full digest, the differing buckets' versions, then
    /// applies what the peer pushes.
    /// </summary>
    public async Task ServeAsync(IStreamConnection connection, SyncRequest request)
    {
        if (request is { BucketHashes.Length: 0, Summary: { } summary })
        {
            var differs = summary != Summary(_bucketHashes);
            await connection.SendAsync(new SyncReply([], [], DigestWanted: differs));
            if (!differs)
            {
                return;
            }

            request = await channel.WithTimeoutAsync(connection.ReceiveAsync<SyncRequest>(), connection,
                "sync digest");
        }

        if (request.BucketHashes.Length != SyncBuckets)
        {
            throw new ProtocolException($"digest has {request.BucketHashes.Length} buckets; expected {SyncBuckets}");
        }

        var differing = Enumerable.Range(0, SyncBuckets)
            .Where(b => request.BucketHashes[b] != _bucketHashes[b]).Take(SyncBucketsPerRoundMax).ToArray();
        var ours = EncodeBuckets(differing);
        await connection.SendAsync(new SyncReply(differing, ours));
        if (differing.Length > 0)
        {
            var push = await channel.WithTimeoutAsync(connection.ReceiveAsync<SyncPush>(), connection, "sync push");
            var theirs = ApplyAll(push.Manifests);
            if (request.From is { Length: > 0 } from)
            {
                node.OfferChunksOf(new NodeId(from), Lacked(ours, theirs));
            }
        }
    }

    /// <summary>
    /// The versions of <paramref name="ours"/> (this node's in the buckets that differ) missing from
    /// <paramref name="theirs"/> (the peer's whole content of those buckets): the peer lacked them, so it likely
    /// missed their chunks' push too. A frame cut short only makes a version look lacked; the peer then answers
    /// the offer of its chunks with "have it".
    /// </summary>
    private static List<Manifest> Lacked(byte[][] ours, IReadOnlyList<Manifest> theirs)
    {
        var held = new SortedSet<(string Path, string Version)>(
            theirs.Select(m => (m.Path.Value, m.Version.ToString())));
        return ours.Select(encoded => ManifestCodec.Decode(encoded))
            .Where(m => !held.Contains((m.Path.Value, m.Version.ToString()))).ToList();
    }

    private byte[][] EncodeBuckets(IEnumerable<int> buckets)
    {
        var result = new List<byte[]>();
        var bytes = 0;
        foreach (var bucket in buckets)
        {
            foreach (var id in _bucketVersions.GetValueOrDefault(bucket) ?? [])
            {
                if (node.Meta.GetFileVersion(id) is not { } row)
                {
                    continue;
                }

                var encoded = row.Manifest ?? ManifestCodec.Encode(KeplerNode.FromRow(row));
                var cap = runtime.Buggify.Hit("antientropy.tiny_frame") ? 1 : SyncManifestsPerFrameMax;
                if (result.Count >= cap || bytes + encoded.Length > SyncFrameBytesMax)
                {
                    return [.. result];
                }

                result.Add(encoded);
                bytes += encoded.Length;
            }
        }

        return [.. result];
    }

    /// <summary>Applies a sync frame's manifests; returns them decoded.</summary>
    private List<Manifest> ApplyAll(byte[][] manifests)
    {
        if (manifests.Length > SyncManifestsPerFrameMax)
        {
            throw new ProtocolException($"sync frame carries {manifests.Length} manifests; the limit is " +
                                        SyncManifestsPerFrameMax);
        }

        var decoded = manifests.Select(encoded => ManifestCodec.Decode(encoded)).ToList();
        foreach (var manifest in decoded)
        {
            node.ApplyManifest(manifest);
        }

        return decoded;
    }
}
