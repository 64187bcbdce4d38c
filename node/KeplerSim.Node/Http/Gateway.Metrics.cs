using System.Globalization;
using System.Text;
using KeplerSim.Core.Membership;
using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.Http;

internal sealed partial class Gateway
{
    /// <summary>Prometheus text exposition (version 0.0.4) of the gateway, transport, loop and core counters.</summary>
    private async Task MetricsAsync(HttpContext context)
    {
        var text = new StringBuilder();
        foreach (var ((route, method, status), count) in Metrics.Requests())
        {
            Line(text, "kepler_http_requests_total", "counter", "HTTP requests by route, method and status",
                count, $"route=\"{Escape(route)}\",method=\"{method}\",status=\"{status}\"");
        }

        Line(text, "kepler_http_received_bytes_total", "counter", "Upload body bytes read", Metrics.BytesIn);
        Line(text, "kepler_http_sent_bytes_total", "counter", "Download body bytes written", Metrics.BytesOut);
        var transport = _host.Transport;
        Line(text, "kepler_datagrams_received_total", "counter", "UDP datagrams received", transport.DatagramsReceived);
        Line(text, "kepler_datagrams_sent_total", "counter", "UDP datagrams sent", transport.DatagramsSent);
        Line(text, "kepler_datagrams_oversized_total", "counter", "UDP datagrams dropped for size",
            transport.DatagramsOversized);
        Line(text, "kepler_datagrams_unhandled_total", "counter", "UDP datagrams no protocol listened for",
            transport.DatagramsUnhandled);
        Line(text, "kepler_stream_connections_accepted_total", "counter", "TCP connections accepted",
            transport.ConnectionsAccepted);
        Line(text, "kepler_stream_connections_opened_total", "counter", "TCP connections opened",
            transport.ConnectionsOpened);
        Line(text, "kepler_stream_frames_received_total", "counter", "Frames received", transport.FramesReceived);
        Line(text, "kepler_stream_frames_sent_total", "counter", "Frames sent", transport.FramesSent);
        Line(text, "kepler_stream_received_bytes_total", "counter", "Stream bytes received", transport.StreamBytesIn);
        Line(text, "kepler_stream_sent_bytes_total", "counter", "Stream bytes sent", transport.StreamBytesOut);
        Line(text, "kepler_frames_oversized_total", "counter", "Frames whose length exceeded 1 MiB",
            transport.FramesOversized);
        Line(text, "kepler_frames_truncated_total", "counter", "Connections that ended mid-frame",
            transport.FramesTruncated);
        Line(text, "kepler_loop_queue_depth", "gauge", "Work items waiting on the node's loop", _host.Loop.QueueDepth);
        Line(text, "kepler_loop_errors_total", "counter", "Work items that threw on the loop", _host.Loop.Errors);
        foreach (var (task, count) in _host.SupervisorFailures())
        {
            // Any sample here is fatal: the node logged it as critical and is exiting (see docs/ARCHITECTURE.md).
            Line(text, "kepler_supervisor_failures_total", "counter",
                "Unexpected failures of background tasks by task (the node exits on the first)", count,
                $"task=\"{Escape(task)}\"");
        }

        if (_host.Node.Ready.IsCompletedSuccessfully)
        {
            text.Append(await _host.Loop.InvokeAsync(CoreMetrics));
            Line(text, "kepler_chunks_stored", "gauge", "Chunk files on this node's disk",
                await CountChunkFilesAsync());
        }

        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }

    /// <summary>Core's counters, read on the loop.</summary>
    private string CoreMetrics()
    {
        var text = new StringBuilder();
        var node = _host.Node;
        var metrics = node.Metrics;
        var store = node.Store;
        foreach (var (state, count) in MembersByState())
        {
            Line(text, "kepler_members", "gauge", "Cluster members by state", count, $"state=\"{state}\"");
        }

        Line(text, "kepler_ring_members", "gauge", "Members that own data on the ring", node.Cluster.Members.Count);
        Line(text, "kepler_known_members", "gauge",
            "Members copies are counted against (dead ones included; left ones not)", node.KnownMembers.Count);
        Line(text, "kepler_replication_target", "gauge",
            "N: copies an 'all' write waits for (replication factor over the known members)", node.ReplicationTarget);
        GossipMetrics(text);
        foreach (var (kind, reason, count) in node.Auth.All())
        {
            Line(text, "kepler_auth_dropped_total", "counter",
                "Datagrams and frames the cluster key dropped (a dropped frame closes its connection)", count,
                $"kind=\"{kind}\",reason=\"{reason}\"");
        }

        var supervisor = _host.Runtime.Supervisor;
        Line(text, "kepler_supervisor_tasks_started_total", "counter", "Background tasks started",
            supervisor.Started);
        Line(text, "kepler_supervisor_tasks_running", "gauge", "Background tasks running", supervisor.Running);
        Line(text, "kepler_replication_queue_depth", "gauge", "Replication queue entries", node.QueueDepth);
        Line(text, "kepler_repair_backlog_chunks", "gauge", "Chunks with a copy still to deliver (under-replicated)",
            node.Meta.CountQueuedChunks());
        Line(text, "kepler_repair_backlog_bytes", "gauge", "Bytes of copies still to deliver", node.Meta.QueueBytes());
        Line(text, "kepler_chunks_written_total", "counter", "Chunks written", store.ChunksWritten);
        Line(text, "kepler_chunk_written_bytes_total", "counter", "Chunk bytes written", store.BytesWritten);
        Line(text, "kepler_chunks_read_total", "counter", "Verified chunk reads", store.ChunksRead);
        Line(text, "kepler_chunks_corrupt_total", "counter", "Corrupt chunks detected", store.CorruptDetected);
        Line(text, "kepler_chunks_replicated_total", "counter", "Replicas delivered", metrics.ChunksReplicated);
        Line(text, "kepler_replication_failures_total", "counter", "Failed replication attempts",
            metrics.ReplicationFailures);
        Line(text, "kepler_chunks_rejected_total", "counter", "Peer chunks that failed verification",
            metrics.ChunksRejected);
        Line(text, "kepler_malformed_frames_total", "counter", "Frames that broke the protocol",
            metrics.MalformedFrames);
        Line(text, "kepler_writes_acknowledged_total", "counter", "Writes acknowledged", metrics.WritesAcknowledged);
        Line(text, "kepler_writes_timed_out_total", "counter", "Writes that missed durability", metrics.WritesTimedOut);
        Line(text, "kepler_reads_served_total", "counter", "Reads served", metrics.ReadsServed);
        Line(text, "kepler_read_repairs_total", "counter", "Chunks repaired during reads", metrics.ReadRepairs);
        var scrub = node.ScrubCounts;
        Line(text, "kepler_scrub_verified_total", "counter", "Chunks verified by scrub", scrub.Verified);
        Line(text, "kepler_scrub_found_total", "counter", "Bad chunks found by scrub", scrub.Found);
        Line(text, "kepler_scrub_repaired_total", "counter", "Chunks repaired by scrub", scrub.Repaired);
        Line(text, "kepler_rebalance_throttled_bytes_total", "counter", "Repair/rebalance bytes sent under the cap",
            node.ThrottledBytes);
        Line(text, "kepler_chunks_collected_total", "counter", "Chunks garbage-collected", node.ChunksCollected);
        return text.ToString();
    }

    /// <summary>SWIM traffic by message kind and failure-detection counters (nothing without SWIM).</summary>
    private void GossipMetrics(StringBuilder text)
    {
        if (_host.Node.Membership is not { } swim)
        {
            return;
        }

        var counters = swim.Counters;
        foreach (var kind in Enum.GetValues<SwimTraffic>())
        {
            var label = $"kind=\"{kind.ToString().ToLowerInvariant()}\"";
            Line(text, "kepler_gossip_messages_sent_total", "counter", "SWIM messages sent by kind",
                counters.Sent(kind), label);
        }

        foreach (var kind in Enum.GetValues<SwimTraffic>())
        {
            var label = $"kind=\"{kind.ToString().ToLowerInvariant()}\"";
            Line(text, "kepler_gossip_messages_received_total", "counter", "SWIM messages received by kind",
                counters.Received(kind), label);
        }

        Line(text, "kepler_gossip_malformed_total", "counter", "SWIM messages that failed to decode",
            counters.Malformed);
        Line(text, "kepler_gossip_probes_failed_total", "counter", "SWIM probes that got no ack",
            counters.ProbesFailed);
        Line(text, "kepler_gossip_refutations_total", "counter", "Times this node refuted a suspicion of itself",
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

    private static void Line(StringBuilder text, string name, string type, string help, long value,
        string? labels = null)
    {
        var header = $"# TYPE {name} {type}\n";
        if (!text.ToString().Contains(header, StringComparison.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n").Append(header);
        }

        text.Append(name);
        if (labels is not null)
        {
            text.Append('{').Append(labels).Append('}');
        }

        text.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
