using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Replication;

/// <summary>
/// Drains the node's <c>replication_queue</c>: streams each due chunk to its target, removes the entry once the
/// target reports it durable, and otherwise retries with capped, jittered exponential backoff. The queue is in
/// SQLite, so delivery is at least once across crashes: a restarted node resumes where it was.
/// </summary>
internal sealed class ReplicationWorker(KeplerNode node, NodeRuntime runtime, KeplerOptions options)
{
    private readonly SortedSet<(string ChunkId, NodeId Target)> _inFlight = [];
    private bool _pumping;

    public int InFlight => _inFlight.Count;

    public void Start() => Tick();

    /// <summary>Looks for due work now (new entries were queued).</summary>
    public void Kick() => Pump();

    private void Tick()
    {
        Pump();
        runtime.Clock.Schedule(options.ReplicationPollMicroseconds, Tick);
    }

    private void Pump()
    {
        if (_pumping)
        {
            return;
        }

        _pumping = true;
        try
        {
            var room = options.ReplicationConcurrency - _inFlight.Count;
            if (room <= 0)
            {
                return;
            }

            var due = node.Meta.DueQueueEntries(runtime.Clock.WallMicroseconds, MetadataStore.QueueBatchMax);
            foreach (var entry in due)
            {
                if (room == 0)
                {
                    break;
                }

                if (_inFlight.Add((entry.ChunkId, entry.Target)))
                {
                    room--;
                    _ = ReplicateAsync(entry);
                }
            }
        }
        finally
        {
            _pumping = false;
        }
    }

    private async Task ReplicateAsync(QueueEntry entry)
    {
        string? failure;
        try
        {
            failure = await TryDeliverAsync(entry);
        }
        catch (Exception e) when (e is StreamBrokenException or TimeoutException or IOException
                                      or Protocol.ProtocolException)
        {
            failure = e.Message;
        }

        if (failure is null)
        {
            Delivered(entry);
        }
        else
        {
            Failed(entry, failure);
        }

        _inFlight.Remove((entry.ChunkId, entry.Target));
        Pump();
    }

    private async Task<string?> TryDeliverAsync(QueueEntry entry)
    {
        if (node.Cluster.Find(entry.Target) is null)
        {
            return "target is not a member";
        }

        var local = await node.Store.ReadAsync(entry.ChunkId);
        if (!local.IsOk)
        {
            return "local copy is " + local.Status.ToString().ToLowerInvariant();
        }

        return await node.SendChunkAsync(entry.Target, entry.ChunkId, local.Data) ? null : "target refused the chunk";
    }

    private void Delivered(QueueEntry entry)
    {
        var dropHint = false;
        node.Meta.Transaction(meta =>
        {
            meta.RemoveQueueEntry(entry.ChunkId, entry.Target);
            // A hinted copy has done its job once every owner confirmed it.
            dropHint = meta.GetChunk(entry.ChunkId) is { State: ChunkState.Hinted }
                && node.Ring.OwnersOf(entry.ChunkId).All(o => o == node.Id || meta.GetQueueEntry(entry.ChunkId, o) is null);
            if (dropHint)
            {
                meta.DeleteChunk(entry.ChunkId);
            }
        });
        if (dropHint)
        {
            _ = node.Store.DeleteAsync(entry.ChunkId);
        }

        node.Metrics.ChunksReplicated++;
        runtime.Events.Publish(new ChunkReplicated(entry.ChunkId, entry.Target.Value));
        node.ConfirmCopy(entry.ChunkId, entry.Target);
    }

    private void Failed(QueueEntry entry, string reason)
    {
        var attempts = entry.Attempts + 1;
        var backoff = Math.Min(options.RetryMaxMicroseconds,
            options.RetryBaseMicroseconds << Math.Min(attempts - 1, 20));
        // Jitter spreads retries of many entries so a returning node is not hit all at once.
        var delay = backoff / 2 + runtime.Random.NextLong(0, backoff / 2 + 1);
        var now = runtime.Clock.WallMicroseconds;
        node.Meta.RecordQueueAttempt(entry.ChunkId, entry.Target, now, now + delay);
        node.Metrics.ReplicationFailures++;
        runtime.Events.Publish(new ReplicationRetry(entry.ChunkId, entry.Target.Value, attempts, reason));
    }
}
