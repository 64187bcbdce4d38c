using KeplerSim.Core.Manifests;
using KeplerSim.Core.Membership;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Replication;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Security;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;
using KeplerSim.Core.Write;

namespace KeplerSim.Core.Node;

/// <summary>
/// A KeplerFS node: the chunk store, the metadata, the ring and the replication queue, serving the file API
/// (<see cref="IFileService"/>) and the transfer protocol. Runs on one logical thread; every method must be
/// called on it.
/// </summary>
public sealed partial class KeplerNode : INodeProgram, IFileService, IDisposable, ITransferServerContext,
    IWriteContext, IReplicationContext, IRepairContext, IScrubContext, IGarbageContext,
    IAntiEntropyContext
{
    private const string HlcMetaKey = "hlc.last";
    private readonly NodeRuntime _runtime;
    private readonly KeplerOptions _options;
    private readonly TaskCompletionSource _ready = new();
    private MetadataStore? _meta;
    private ReplicationWorker? _replication;
    private RepairScanner? _repair;
    private Scrubber? _scrubber;
    private GarbageCollector? _gc;
    private readonly SwimMember? _swim;
    private readonly ClusterView _configured;
    private readonly TransferChannel _channel;
    private readonly TransferClient _client;
    private readonly TransferServer _server;
    private readonly AntiEntropy _antiEntropy;

    /// <summary>Creates the node; nothing happens until <see cref="StartAsync"/>.</summary>
    public KeplerNode(NodeRuntime runtime, KeplerOptions options, ClusterView cluster)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cluster);
        options.Validate();
        Auth = new AuthCounters(runtime.Events);
        Metrics = new NodeMetrics();
        runtime = Seal(runtime, options.ClusterKey);
        runtime = runtime with { Streams = new CountingStreamNetwork(runtime.Streams, Metrics.StreamTraffic) };
        _runtime = runtime;
        _options = options;
        Cluster = cluster;
        _configured = cluster;
        Ring = new HashRing(cluster.Ids, new RingOptions(options.VirtualNodesPerNode, ReplicationFactor),
            runtime.Shared.RingLayouts);
        _swim = options.Swim is { } swim ? new SwimMember(runtime, swim) : null;
        Store = new ChunkStore(runtime);
        Clock = new HybridLogicalClock(runtime.Clock, runtime.Id);
        _channel = new TransferChannel(runtime, options, Metrics, TransferAddressOf);
        _client = new TransferClient(runtime.Id, _channel, Store, _swim);
        _server = new TransferServer(this, _channel, runtime, options);
        _antiEntropy = new AntiEntropy(this, _channel, runtime, options);
    }

    /// <summary>Buckets in an anti-entropy digest.</summary>
    public const int SyncBuckets = AntiEntropy.SyncBuckets;

    /// <summary>Most buckets exchanged in one anti-entropy round.</summary>
    public const int SyncBucketsPerRoundMax = AntiEntropy.SyncBucketsPerRoundMax;

    /// <summary>Most manifests carried in one sync frame (the rest follow next round).</summary>
    public const int SyncManifestsPerFrameMax = AntiEntropy.SyncManifestsPerFrameMax;

    /// <summary>Most encoded manifest bytes in one sync frame.</summary>
    public const int SyncFrameBytesMax = AntiEntropy.SyncFrameBytesMax;

    /// <summary>Anti-entropy rounds completed as initiator.</summary>
    public long SyncRounds => _antiEntropy.SyncRounds;

    /// <summary>Chunks received at once; more offers are answered "busy" (the sender backs off).</summary>
    public const int IncomingStoresMax = TransferServer.IncomingStoresMax;

    /// <summary>This node's id.</summary>
    public NodeId Id => _runtime.Id;

    /// <summary>The members chunks are placed over.</summary>
    public ClusterView Cluster { get; private set; }

    /// <summary>The placement ring.</summary>
    public HashRing Ring { get; private set; }

    /// <summary>The local chunk store.</summary>
    public ChunkStore Store { get; }

    /// <summary>The version clock.</summary>
    public HybridLogicalClock Clock { get; }

    /// <summary>Counters for metrics.</summary>
    public NodeMetrics Metrics { get; }

    /// <summary>What the cluster key dropped (all zero without a key).</summary>
    public AuthCounters Auth { get; }

    /// <summary>Completes when the node has recovered and serves requests.</summary>
    public Task Ready => _ready.Task;

    /// <summary>The what the startup recovery found (null until it ran).</summary>
    public RecoveryReport? Recovery { get; private set; }

    /// <summary>The node's metadata (for inspection by checkers, status pages and tests; mutate only through the node).</summary>
    public MetadataStore Meta => _meta ?? throw new InvalidOperationException("node not started");

    /// <summary>Replication entries waiting, as seen by this node's metadata.</summary>
    public long QueueDepth => Meta.CountQueue();

    /// <summary>Startup attempts before a node gives up (a disk that keeps failing reads).</summary>
    public const int StartAttemptsMax = 30;

    /// <inheritdoc />
    public async Task StartAsync()
    {
        try
        {
            _meta = MetadataStore.Open(_runtime.Metadata);
            RestoreClock();
            RestoreSettings();
            BeginSealedDatagrams();
            LoadLostChunks();
            Recovery = await RecoverWithRetriesAsync();
            _server.Listen();
            _replication = new ReplicationWorker(this, _client, _pending, _runtime, _options);
            _replication.Start();
            _repair = new RepairScanner(this, _client, _runtime, _options);
            _repair.Start();
            _scrubber = new Scrubber(this, _runtime, _options);
            _scrubber.Start();
            _antiEntropy.Start();
            _gc = new GarbageCollector(this, _runtime, _options);
            _gc.Start();
            LoadKnownMembers();
            StartMembership();
            _ready.TrySetResult();
            _runtime.Supervisor.Run("chunk.verify_deferred", VerifyDeferredChunksAsync);
            StartRestoring(); // What recovery dropped, and what a crash interrupted restoring.

        }
        catch (Exception e)
        {
            _ready.TrySetException(e);
            throw;
        }
    }

    /// <summary>
    /// Recovery lists the store (its content check runs after /ready: VerifyDeferredChunksAsync); a transient read
    /// error must not keep the node down for good.
    /// </summary>
    private async Task<RecoveryReport> RecoverWithRetriesAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await Store.RecoverAsync(new ChunkIndex(this), deferContent: true);
            }
            catch (IOException e) when (attempt < StartAttemptsMax)
            {
                _runtime.Events.Publish(new StartRetry(attempt, e.Message));
                await _runtime.Clock.DelayAsync(_options.RetryBaseMicroseconds * attempt);
            }
        }
    }

    /// <summary>Attempts to restore one lost chunk from peers before the repair scans are left to it.</summary>
    public const int RestoreAttemptsMax = 10;

    /// <summary>Chunks this node lost (dropped as corrupt or missing) and is restoring, with attempts made.</summary>
    private readonly SortedDictionary<string, int> _lostChunks = new(StringComparer.Ordinal);
    private bool _restoring;
    private int _restoreRound;

    /// <summary>
    /// Restores a chunk this node dropped (bit rot or a torn file found at start, a corrupt copy scrub could not
    /// replace at once) from its peers, retrying with backoff while they are unreachable or the node is still
    /// joining. Nobody else would send it back before the peers' periodic repair scan (a minute by default): this
    /// node's own scan walks only the chunks it still has (chaos seeds 3B4-Xk_j8Sp1 and 5l8W17Q3SrL2: a copy lost
    /// while its node was down, or while a partition kept scrub's restore from its peers, stayed lost).
    /// </summary>
    internal void RestoreLater(string id) => RestoreLater([id]);

    /// <summary>As <see cref="RestoreLater(string)"/> for several chunks, saved in one metadata write.</summary>
    internal void RestoreLater(IReadOnlyCollection<string> ids)
    {
        var added = false;
        foreach (var id in ids)
        {
            added |= _lostChunks.TryAdd(id, 0);
        }

        if (added)
        {
            SaveLostChunks();
        }

        _restoreRound = 0;
        if (_ready.Task.IsCompleted)
        {
            StartRestoring(); // During startup recovery the chunk is only recorded; StartAsync starts the restore.
        }
    }

    /// <summary>
    /// Anti-entropy found that <paramref name="peer"/> lacked these versions: queues a push of every chunk of a
    /// winning one that this node holds and the peer owns, through the replication queue (durable, under the
    /// bandwidth cap; a copy the peer has is answered "have it"). The writer that would have pushed them may be
    /// gone: a writer killed while it handed off, with an owner down, took its queue with it, and only the periodic
    /// repair scan, a minute later, brought the copies (chaos seed 4Ieuy22i5_G2:
    /// scenarios/regressions/owner-misses-push-of-departed-writer.yaml).
    /// </summary>
    internal void OfferChunksOf(NodeId peer, IReadOnlyList<Manifest> lacked)
    {
        if (peer == Id || Cluster.Find(peer) is null || lacked.Count == 0)
        {
            return; // Not a member (an unknown or departed initiator): nothing is owed to it.
        }

        var queued = false;
        var now = _runtime.Clock.WallMicroseconds;
        Meta.Transaction(meta =>
        {
            foreach (var manifest in lacked.Where(m => !m.IsTombstone))
            {
                if (meta.GetWinner(manifest.Path.Value)?.Id != ToRow(manifest, isWinner: false).Id)
                {
                    continue; // Superseded here: its chunks are the collector's, not the peer's.
                }

                foreach (var chunk in manifest.Chunks.Select(c => c.Hex).Distinct(StringComparer.Ordinal))
                {
                    if (meta.GetChunk(chunk) is not null && Ring.IsOwner(peer, chunk))
                    {
                        queued |= meta.Enqueue(chunk, peer, now);
                    }
                }
            }
        });
        if (queued)
        {
            KickReplication();
        }
    }

    private void StartRestoring()
    {
        if (!_restoring && _lostChunks.Count > 0)
        {
            _restoring = true;
            _runtime.Supervisor.Run("chunk.restore", RestoreLostChunksAsync);
        }
    }

    private async Task RestoreLostChunksAsync()
    {
        try
        {
            while (_lostChunks.Count > 0)
            {
                await _runtime.Clock.DelayAsync(Math.Min(_options.RetryMaxMicroseconds,
                    _options.RetryBaseMicroseconds << Math.Min(_restoreRound++, 20)));
                var removed = false;
                foreach (var (id, attempts) in _lostChunks.ToList())
                {
                    if (_server.IsReceiving(id))
                    {
                        continue; // A peer is storing it here right now: fetching it too would move it twice.
                    }

                    if (Meta.GetChunk(id) is not null || await TryRestoreAsync(id) || attempts + 1 >= RestoreAttemptsMax)
                    {
                        removed |= _lostChunks.Remove(id); // Restored, arrived otherwise, or left to the repair scans.
                    }
                    else
                    {
                        _lostChunks[id] = attempts + 1;
                    }
                }

                if (removed)
                {
                    SaveLostChunks(); // Once a round: one that restored hundreds of chunks rewrote the list each time.
                }
            }
        }
        finally
        {
            _restoring = false;
        }
    }

    /// <summary>
    /// The lost chunks are kept in metadata, so a crash before their restore does not forget them (chaos seed
    /// 8H-4Ko7HtBV2: scrub dropped a corrupt copy behind a partition, then the node crashed, and after the restart
    /// nothing knew the copy was missing). At most <see cref="LostChunksSavedMax"/> are kept; beyond that the
    /// repair scans of the peers restore the rest.
    /// </summary>
    private void SaveLostChunks() =>
        Meta.SetMeta(LostChunksMetaKey, string.Join(",", _lostChunks.Keys.Take(LostChunksSavedMax)));

    private void LoadLostChunks()
    {
        foreach (var id in (Meta.GetMeta(LostChunksMetaKey) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            _lostChunks.TryAdd(id, 0);
        }
    }

    /// <summary>Most lost chunk ids kept in metadata across a crash (512 × 65 characters fit one meta value).</summary>
    public const int LostChunksSavedMax = MetadataStore.MetaValueLengthMax / 128;

    private const string LostChunksMetaKey = "chunks.lost";

    private async Task<bool> TryRestoreAsync(string id)
    {
        try
        {
            return await RestoreChunkAsync(id);
        }
        catch (IOException)
        {
            return false; // The disk refused the copy (full, or an I/O error): the next attempt.
        }
    }

    /// <summary>Idle transfer connections this node keeps open to its peers for their next request.</summary>
    public int PooledTransferConnections => _channel.PooledConnections;

    /// <summary>Inbound transfer connections served right now (SWIM streams included).</summary>
    public int ServedTransferConnections => _server.ServedConnections;

    /// <summary>Idle transfer connections this node keeps open to <paramref name="peer"/> (tests).</summary>
    internal int PooledTransferConnectionsTo(NodeId peer) => _channel.PooledConnectionsTo(peer);

    /// <summary>How long an idle pooled transfer connection is kept before it is closed instead of reused.</summary>
    public const long PooledConnectionIdleMicrosecondsMax = TransferConnectionPool.IdleMicrosecondsMax;

    /// <summary>How long a served transfer connection waits for its next request before it closes.</summary>
    public const long ServedConnectionIdleMicrosecondsMax = TransferConnectionPool.ServedIdleMicrosecondsMax;

    /// <summary>Closes the node's transfer connections (pooled and served) and its metadata.</summary>
    public void Dispose()
    {
        _channel.Close();
        _server.Close();
        _meta?.Dispose();
    }

    /// <summary>
    /// Replaces the member set (a death, a join, a leave) and the ring over it, and re-checks every local chunk,
    /// which re-replicates what lost an owner and hands off what a new owner gained.
    /// </summary>
    /// <remarks>Private on purpose: only this node's own membership (SWIM) changes its ring; no host or harness can
    /// push a member list into a node (docs/PROTOCOL.md).</remarks>
    private void UpdateCluster(ClusterView cluster, HashRing ring, string reason)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        Invariant.That(ring.Nodes.Count == cluster.Members.Count, "the ring has the view's members");
        var previous = Ring;
        Cluster = cluster;
        Ring = ring;
        _runtime.Events.Publish(new RingChanged(cluster.Members.Count, reason));
        _repair?.Request(previous);
        RestoreCollectedOwnedChunks(previous);
    }

    /// <summary>Client uploads and downloads running on this node (scrub slows down while there are any).</summary>
    public int ClientTransfersInFlight { get; private set; }

    /// <summary>Counts a client transfer until the returned scope is disposed.</summary>
    private ClientTransferScope BeginClientTransfer()
    {
        ClientTransfersInFlight++;
        return new ClientTransferScope(this);
    }

    private readonly struct ClientTransferScope(KeplerNode node) : IDisposable
    {
        public void Dispose() => node.ClientTransfersInFlight--;
    }

    /// <summary>Scrub counters: verified, found bad, repaired.</summary>
    public (long Verified, long Found, long Repaired) ScrubCounts =>
        _scrubber is null ? default : (_scrubber.Verified, _scrubber.Found, _scrubber.Repaired);

    /// <summary>Bytes of repair and rebalance traffic sent under the bandwidth cap.</summary>
    public long ThrottledBytes => _replication?.ThrottledBytes ?? 0;

    internal void KickReplication() => _replication?.Kick();

    /// <summary>Chunks garbage collection deleted.</summary>
    public long ChunksCollected => _gc?.Collected ?? 0;

    /// <summary>Whether a transfer (incoming, or queued outgoing) involves the chunk right now.</summary>
    internal bool IsMoving(string chunkId) =>
        _server.IsReceiving(chunkId) || (_replication?.IsInFlight(chunkId) ?? false)
        || _pending.Contains(chunkId);

    /// <summary>The ring of <paramref name="cluster"/>, derived from the current one (a change, not a rebuild).</summary>
    private HashRing BuildRing(ClusterView cluster) =>
        Ring.WithMembers(cluster.Ids, new RingOptions(_options.VirtualNodesPerNode, ReplicationFactor));

    internal long NowMicroseconds => _runtime.Clock.WallMicroseconds;

    internal bool OwnsChunk(string chunkId) => Ring.IsOwner(Id, chunkId);

    internal NetAddress TransferAddressOf(NodeId node) =>
        Cluster.Find(node)?.TransferAddress ?? _known.GetValueOrDefault(node)?.TransferAddress
        ?? throw new InvalidOperationException($"{node} is not a member");

    private void RestoreClock()
    {
        if (Meta.GetMeta(HlcMetaKey) is { } text && ParseToken(text) is { } last)
        {
            // Never issue a token at or below one this node issued before the crash.
            Clock.TryObserve(last);
        }
    }

    private static VersionToken? ParseToken(string text)
    {
        var parts = text.Split('|');
        return parts.Length == 3
            && long.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var wall)
            && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var logical)
            ? new VersionToken(wall, logical, new NodeId(parts[2]))
            : null;
    }

    private static string FormatToken(VersionToken token) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{token.WallMicroseconds}|{token.Logical}|{token.Node.Value}");

    private async Task EnsureReadyAsync()
    {
        await _ready.Task;
    }

    /// <summary>The chunk store's view of the SQLite <c>chunks</c> table, used by startup recovery.</summary>
    private sealed class ChunkIndex(KeplerNode node) : IChunkIndex
    {
        public IReadOnlyList<string> KnownChunks()
        {
            var ids = new List<string>();
            for (var page = node.Meta.ListChunks(); page.Count > 0; page = node.Meta.ListChunks(page[^1].Id))
            {
                ids.AddRange(page.Select(c => c.Id));
            }

            return ids;
        }

        // A chunk found on disk but not in the index: a write that was never acknowledged, or a replica received
        // from a peer whose record (a deferred commit) a power loss took. Either way it gets the record a received
        // replica gets: an owned one is kept as is, a hinted one is handed to its owners.
        public void MarkPresent(string id, long sizeBytes) => node.Meta.Transaction(meta =>
            node.RecordLocalChunk(meta, id, sizeBytes, requestId: null, replicate: false));

        public void MarkMissing(string id)
        {
            node.Meta.DeleteChunk(id);
            node.RestoreLater(id); // Restored from peers once the node has started.
        }
    }
}

/// <summary>Counters of one node incarnation.</summary>
public sealed class NodeMetrics
{
    /// <summary>Writes acknowledged.</summary>
    public long WritesAcknowledged { get; internal set; }

    /// <summary>Writes that failed to reach their durability in time.</summary>
    public long WritesTimedOut { get; internal set; }

    /// <summary>Reads served.</summary>
    public long ReadsServed { get; internal set; }

    /// <summary>Chunk replicas delivered to owners.</summary>
    public long ChunksReplicated { get; internal set; }

    /// <summary>Batched repair offers answered (one exchange per owner and page of the repair scan).</summary>
    public long RepairOffers { get; internal set; }

    /// <summary>Batched repair offers that failed (their chunks were queued, as single offers).</summary>
    public long RepairOffersFailed { get; internal set; }

    /// <summary>Chunks named in answered batched repair offers.</summary>
    public long RepairChunksOffered { get; internal set; }

    /// <summary>Chunks an answered batched repair offer found held by the owner (nothing queued for them).</summary>
    public long RepairChunksConfirmed { get; internal set; }

    /// <summary>Replication attempts that failed.</summary>
    public long ReplicationFailures { get; internal set; }

    /// <summary>Chunks offered by peers whose bytes did not match their id.</summary>
    public long ChunksRejected { get; internal set; }

    /// <summary>Frames that did not follow the protocol.</summary>
    public long MalformedFrames { get; internal set; }

    /// <summary>Local chunks repaired from a replica during a read.</summary>
    public long ReadRepairs { get; internal set; }

    /// <summary>The most chunks one upload had in flight at once (bounded by the upload limit).</summary>
    public int UploadChunksInFlightPeak { get; internal set; }

    /// <summary>Transfer connections this node opened to its peers (a handshake each under a cluster key).</summary>
    public long TransferConnectionsOpened { get; internal set; }

    /// <summary>Transfer requests sent on an idle connection taken from the pool instead of a new one.</summary>
    public long TransferConnectionsReused { get; internal set; }

    /// <summary>
    /// Reused connections found closed or reset by the peer before any reply (idle-closed, restarted): the request
    /// was sent again on a new connection.
    /// </summary>
    public long TransferConnectionsStale { get; internal set; }

    /// <summary>
    /// Inbound transfer connections closed unread because the node served its most at once
    /// (<see cref="KeplerOptions.ServedConnectionsMax"/>), none of them idle.
    /// </summary>
    public long TransferConnectionsRefusedNode { get; internal set; }

    /// <summary>
    /// Inbound transfer connections closed unread because the node served the most it serves from their remote host
    /// (<see cref="KeplerOptions.ServedConnectionsPerPeerMax"/>), none of them idle.
    /// </summary>
    public long TransferConnectionsRefusedPeer { get; internal set; }

    /// <summary>
    /// Idle inbound transfer connections closed to make room for a new one at the node's cap
    /// (<see cref="KeplerOptions.ServedConnectionsMax"/>).
    /// </summary>
    public long TransferConnectionsEvictedNode { get; internal set; }

    /// <summary>
    /// Idle inbound transfer connections closed to make room for a new one from their host at its cap
    /// (<see cref="KeplerOptions.ServedConnectionsPerPeerMax"/>).
    /// </summary>
    public long TransferConnectionsEvictedPeer { get; internal set; }

    /// <summary>The most inbound transfer connections this incarnation served at once.</summary>
    public int TransferConnectionsServedPeak { get; internal set; }

    /// <summary>The most inbound transfer connections this incarnation served at once from one remote host.</summary>
    public int TransferConnectionsServedPerPeerPeak { get; internal set; }

    /// <summary>Stream bytes and frames sent, by what the exchange was for (above the cluster key's sealing).</summary>
    public StreamTrafficCounts StreamTraffic { get; } = new();
}
