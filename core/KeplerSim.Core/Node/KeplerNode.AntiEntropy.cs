using System.IO.Hashing;
using System.Text;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Transfer;

namespace KeplerSim.Core.Node;

/// <summary>
/// Manifest anti-entropy (push-pull): every few seconds a node sends a random peer one hash per bucket of
/// paths; the peer answers with its versions in the buckets that differ and the initiator pushes its own back.
/// Every version (winners, conflicts, history, tombstones) takes part, so both ends converge on the same set
/// and hence the same winners. Bucket hashes are XORs of version ids, kept up to date incrementally.
/// </summary>
public sealed partial class KeplerNode
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

    private void StartAntiEntropy()
    {
        for (var page = Meta.ListAllFileVersions(); page.Count > 0; page = Meta.ListAllFileVersions(page[^1].Id))
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
        var interval = _options.AntiEntropyIntervalMicroseconds;
        _runtime.Clock.Schedule(_runtime.Random.NextLong(interval / 2, interval * 3 / 2 + 1),
            () => _runtime.Supervisor.Run("antientropy.round", SyncRoundAsync));
    }

    /// <summary>Adds a newly recorded version to the digest.</summary>
    private void TrackVersion(string path, string rowId)
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
            var peers = Cluster.Members.Where(m => m.Id != Id).ToList();
            if (peers.Count > 0)
            {
                await SyncWithAsync(peers[_runtime.Random.NextInt(peers.Count)].Id);
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

    private async Task SyncWithAsync(NodeId peer)
    {
        using var connection = await _channel.ConnectAsync(peer);
        await _channel.WithTimeoutAsync(connection.SendAsync(new SyncRequest((ulong[])_bucketHashes.Clone())),
            connection, "sync request");
        var reply = await _channel.WithTimeoutAsync(connection.ReceiveAsync<SyncReply>(), connection, "sync reply");
        ApplyAll(reply.Manifests);
        if (reply.Buckets.Length > 0)
        {
            var buckets = reply.Buckets.Where(b => b is >= 0 and < SyncBuckets).Distinct().Take(SyncBucketsPerRoundMax);
            await _channel.WithTimeoutAsync(connection.SendAsync(new SyncPush(EncodeBuckets(buckets))), connection,
                "sync push");
        }

        SyncRounds++;
    }

    async Task ITransferServerContext.ServeSyncAsync(IStreamConnection connection, SyncRequest request)
    {
        if (request.BucketHashes.Length != SyncBuckets)
        {
            throw new ProtocolException($"digest has {request.BucketHashes.Length} buckets; expected {SyncBuckets}");
        }

        var differing = Enumerable.Range(0, SyncBuckets)
            .Where(b => request.BucketHashes[b] != _bucketHashes[b]).Take(SyncBucketsPerRoundMax).ToArray();
        await connection.SendAsync(new SyncReply(differing, EncodeBuckets(differing)));
        if (differing.Length > 0)
        {
            var push = await _channel.WithTimeoutAsync(connection.ReceiveAsync<SyncPush>(), connection, "sync push");
            ApplyAll(push.Manifests);
        }
    }

    private byte[][] EncodeBuckets(IEnumerable<int> buckets)
    {
        var result = new List<byte[]>();
        var bytes = 0;
        foreach (var bucket in buckets)
        {
            foreach (var id in _bucketVersions.GetValueOrDefault(bucket) ?? [])
            {
                if (Meta.GetFileVersion(id) is not { } row)
                {
                    continue;
                }

                var encoded = row.Manifest ?? ManifestCodec.Encode(FromRow(row));
                var cap = _runtime.Buggify.Hit("antientropy.tiny_frame") ? 1 : SyncManifestsPerFrameMax;
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

    private void ApplyAll(byte[][] manifests)
    {
        if (manifests.Length > SyncManifestsPerFrameMax)
        {
            throw new ProtocolException($"sync frame carries {manifests.Length} manifests; the limit is " +
                                        SyncManifestsPerFrameMax);
        }

        foreach (var encoded in manifests)
        {
            ApplyManifest(ManifestCodec.Decode(encoded));
        }
    }

}
