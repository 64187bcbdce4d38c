using KeplerSim.Core.Membership;
using Microsoft.AspNetCore.Builder;
using Prometheus;

namespace KeplerSim.Node.Http;

internal sealed partial class Gateway
{
    /// <summary>
    /// <c>/metrics</c>: the Prometheus text exposition of <see cref="GatewayMetrics.Registry"/> (prometheus-net).
    /// Before each scrape the mirrors of the transport's, the loop's and core's counters are refreshed (core's on
    /// the node's loop, where its state lives).
    /// </summary>
    private IEndpointConventionBuilder MapMetrics(WebApplication app)
    {
        Metrics.Registry.AddBeforeCollectCallback(RefreshMetricsAsync);
        return app.MapMetrics("/metrics", Metrics.Registry);
    }

    private async Task RefreshMetricsAsync(CancellationToken cancel)
    {
        var transport = _host.Transport;
        Metrics.Counter("kepler_datagrams_received_total", "UDP datagrams received", transport.DatagramsReceived);
        Metrics.Counter("kepler_datagrams_sent_total", "UDP datagrams sent", transport.DatagramsSent);
        Metrics.Counter("kepler_datagrams_oversized_total", "UDP datagrams dropped for size",
            transport.DatagramsOversized);
        Metrics.Counter("kepler_datagrams_unhandled_total", "UDP datagrams no protocol listened for",
            transport.DatagramsUnhandled);
        Metrics.Counter("kepler_stream_connections_accepted_total", "TCP connections accepted",
            transport.ConnectionsAccepted);
        Metrics.Counter("kepler_stream_connections_opened_total", "TCP connections opened",
            transport.ConnectionsOpened);
        Metrics.Counter("kepler_stream_frames_received_total", "Frames received", transport.FramesReceived);
        Metrics.Counter("kepler_stream_frames_sent_total", "Frames sent", transport.FramesSent);
        Metrics.Counter("kepler_stream_received_bytes_total", "Stream bytes received", transport.StreamBytesIn);
        Metrics.Counter("kepler_stream_sent_bytes_total", "Stream bytes sent", transport.StreamBytesOut);
        Metrics.Counter("kepler_frames_oversized_total", "Frames whose length exceeded 1 MiB",
            transport.FramesOversized);
        Metrics.Counter("kepler_frames_truncated_total", "Connections that ended mid-frame",
            transport.FramesTruncated);
        Metrics.Gauge("kepler_loop_queue_depth", "Work items waiting on the node's loop", _host.Loop.QueueDepth);
        Metrics.Counter("kepler_loop_errors_total", "Work items that threw on the loop", _host.Loop.Errors);
        foreach (var (task, count) in _host.SupervisorFailures())
        {
            // Any sample here is fatal: the node logged it as critical and is exiting (see docs/ARCHITECTURE.md).
            Metrics.Counter("kepler_supervisor_failures_total",
                "Unexpected failures of background tasks by task (the node exits on the first)", count,
                ("task", task));
        }

        if (_host.Node.Ready.IsCompletedSuccessfully)
        {
            await _host.Loop.InvokeAsync(() =>
            {
                CoreMetrics();
                return Task.FromResult(0);
            });
            Metrics.Gauge("kepler_chunks_stored", "Chunk files on this node's disk", await CountChunkFilesAsync());
        }

        cancel.ThrowIfCancellationRequested();
    }

    /// <summary>Core's counters, read on the loop.</summary>
    private void CoreMetrics()
    {
        var node = _host.Node;
        var metrics = node.Metrics;
        var store = node.Store;
        foreach (var (state, count) in MembersByState())
        {
            Metrics.Gauge("kepler_members", "Cluster members by state", count, ("state", state));
        }

        Metrics.Gauge("kepler_ring_members", "Members that own data on the ring", node.Cluster.Members.Count);
        Metrics.Gauge("kepler_known_members",
            "Members copies are counted against (dead ones included; left ones not)", node.KnownMembers.Count);
        Metrics.Gauge("kepler_replication_target",
            "N: copies an 'all' write waits for (replication factor over the known members)", node.ReplicationTarget);
        GossipMetrics();
        foreach (var (kind, reason, count) in node.Auth.All())
        {
            Metrics.Counter("kepler_auth_dropped_total",
                "Datagrams and frames the cluster key dropped (a dropped frame closes its connection)", count,
                ("kind", kind), ("reason", reason));
        }

        var supervisor = _host.Runtime.Supervisor;
        Metrics.Counter("kepler_supervisor_tasks_started_total", "Background tasks started",
            supervisor.Started);
        Metrics.Gauge("kepler_supervisor_tasks_running", "Background tasks running", supervisor.Running);
        Metrics.Gauge("kepler_replication_queue_depth", "Replication queue entries", node.QueueDepth);
        Metrics.Gauge("kepler_repair_backlog_chunks", "Chunks with a copy still to deliver (under-replicated)",
            node.Meta.CountQueuedChunks());
        Metrics.Gauge("kepler_repair_backlog_bytes", "Bytes of copies still to deliver", node.Meta.QueueBytes());
        Metrics.Counter("kepler_chunks_written_total", "Chunks written", store.ChunksWritten);
        Metrics.Counter("kepler_chunk_written_bytes_total", "Chunk bytes written", store.BytesWritten);
        Metrics.Counter("kepler_chunks_read_total", "Verified chunk reads", store.ChunksRead);
        Metrics.Counter("kepler_chunks_corrupt_total", "Corrupt chunks detected", store.CorruptDetected);
        Metrics.Counter("kepler_chunks_replicated_total", "Replicas delivered", metrics.ChunksReplicated);
        Metrics.Counter("kepler_replication_failures_total", "Failed replication attempts",
            metrics.ReplicationFailures);
        Metrics.Counter("kepler_repair_offers_total", "Batched repair offers answered", metrics.RepairOffers);
        Metrics.Counter("kepler_repair_offers_failed_total", "Batched repair offers that failed (queued one by one)",
            metrics.RepairOffersFailed);
        Metrics.Counter("kepler_repair_chunks_offered_total", "Chunks named in answered batched repair offers",
            metrics.RepairChunksOffered);
        Metrics.Counter("kepler_repair_chunks_confirmed_total", "Chunks batched repair offers found held",
            metrics.RepairChunksConfirmed);
        Metrics.Counter("kepler_chunks_rejected_total", "Peer chunks that failed verification",
            metrics.ChunksRejected);
        Metrics.Counter("kepler_malformed_frames_total", "Frames that broke the protocol",
            metrics.MalformedFrames);
        TransferMetrics(node);
        Metrics.Counter("kepler_writes_acknowledged_total", "Writes acknowledged", metrics.WritesAcknowledged);
        Metrics.Counter("kepler_writes_timed_out_total", "Writes that missed durability", metrics.WritesTimedOut);
        Metrics.Counter("kepler_reads_served_total", "Reads served", metrics.ReadsServed);
        Metrics.Counter("kepler_read_repairs_total", "Chunks repaired during reads", metrics.ReadRepairs);
        var scrub = node.ScrubCounts;
        Metrics.Counter("kepler_scrub_verified_total", "Chunks verified by scrub", scrub.Verified);
        Metrics.Counter("kepler_scrub_found_total", "Bad chunks found by scrub", scrub.Found);
        Metrics.Counter("kepler_scrub_repaired_total", "Chunks repaired by scrub", scrub.Repaired);
        Metrics.Counter("kepler_rebalance_throttled_bytes_total", "Repair/rebalance bytes sent under the cap",
            node.ThrottledBytes);
        Metrics.Counter("kepler_chunks_collected_total", "Chunks garbage-collected", node.ChunksCollected);
        var progress = _lastProgress;
        Metrics.Gauge("kepler_replication_lag_seconds",
            "Time to deliver the copies still queued at the current delivery rate (0 when none are queued)",
            node.QueueDepth == 0 || progress is null ? 0 : progress.EtaMicroseconds / 1e6);
    }

    /// <summary>
    /// Transfer connections opened, reused from the pool, found closed on reuse, pooled now; inbound ones served now
    /// and refused or evicted at the caps.
    /// </summary>
    private void TransferMetrics(Core.Node.KeplerNode node)
    {
        var metrics = node.Metrics;
        Metrics.Counter("kepler_transfer_connections_opened_total",
            "Transfer connections opened to peers (each with a handshake under the cluster key)",
            metrics.TransferConnectionsOpened);
        Metrics.Counter("kepler_transfer_connections_reused_total",
            "Transfer requests sent on an idle pooled connection instead of a new one",
            metrics.TransferConnectionsReused);
        Metrics.Counter("kepler_transfer_connections_stale_total",
            "Pooled connections found closed by the peer before any reply (the request was sent again on a new one)",
            metrics.TransferConnectionsStale);
        Metrics.Gauge("kepler_transfer_connections_pooled", "Idle transfer connections kept for reuse",
            node.PooledTransferConnections);
        Metrics.Gauge("kepler_transfer_connections_served",
            "Inbound transfer connections served now (SWIM streams included)", node.ServedTransferConnections);
        foreach (var (limit, refused, evicted) in new[]
                 {
                     ("node", metrics.TransferConnectionsRefusedNode, metrics.TransferConnectionsEvictedNode),
                     ("peer", metrics.TransferConnectionsRefusedPeer, metrics.TransferConnectionsEvictedPeer),
                 })
        {
            Metrics.Counter("kepler_transfer_connections_refused_total",
                "Inbound transfer connections closed unread: the node served its most at once (limit=node, " +
                "TRANSFER_CONNECTIONS_MAX) or its most from that IP address (limit=peer, " +
                "TRANSFER_CONNECTIONS_PER_PEER_MAX), none of them idle", refused, ("limit", limit));
            Metrics.Counter("kepler_transfer_connections_evicted_total",
                "Idle inbound transfer connections closed to make room for a new one at a cap (limit=node|peer)",
                evicted, ("limit", limit));
        }
        foreach (var kind in Core.Transfer.StreamTrafficCounts.Kinds)
        {
            Metrics.Counter("kepler_transfer_sent_bytes_total",
                "Plain stream frame bytes sent, by the request the exchange was for (before the cluster key's sealing)",
                metrics.StreamTraffic.BytesSent(kind), ("kind", Core.Transfer.StreamTrafficCounts.NameOf(kind)));
        }
    }

    /// <summary>SWIM traffic by message kind and failure-detection counters (nothing without SWIM).</summary>
    private void GossipMetrics()
    {
        if (_host.Node.Membership is not { } swim)
        {
            return;
        }

        var counters = swim.Counters;
        foreach (var kind in Enum.GetValues<SwimTraffic>())
        {
            var label = ("kind", kind.ToString().ToLowerInvariant());
            Metrics.Counter("kepler_gossip_messages_sent_total", "SWIM messages sent by kind",
                counters.Sent(kind), label);
        }

        foreach (var kind in Enum.GetValues<SwimTraffic>())
        {
            var label = ("kind", kind.ToString().ToLowerInvariant());
            Metrics.Counter("kepler_gossip_messages_received_total", "SWIM messages received by kind",
                counters.Received(kind), label);
        }

        Metrics.Counter("kepler_gossip_malformed_total", "SWIM messages that failed to decode",
            counters.Malformed);
        Metrics.Counter("kepler_gossip_probes_failed_total", "SWIM probes that got no ack",
            counters.ProbesFailed);
        Metrics.Counter("kepler_gossip_refutations_total", "Times this node refuted a suspicion of itself",
            counters.Refutations);
    }

    /// <summary>
    /// Chunk files on disk, counted off the loop (core keeps the count in its metadata but does not expose it
    /// yet; see docs/NODE.md).
    /// </summary>
    private Task<long> CountChunkFilesAsync() => Task.Run(() =>
    {
        var root = Path.Combine(_host.Disk.Root, Core.Storage.ChunkStore.RootDirectory);
        var tmp = Path.Combine(_host.Disk.Root, Core.Storage.ChunkStore.TmpDirectory);
        return Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .LongCount(f => !f.StartsWith(tmp + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            : 0L;
    });
}
