using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;
using KeplerSim.Core.Write;

namespace KeplerSim.Core.Replication;

/// <summary>
/// Drains the node's <c>replication_queue</c>: streams each due chunk to its target, removes the entry once the
/// target reports it durable, and otherwise retries with capped, jittered exponential backoff. The queue is in
/// SQLite, so delivery is at least once across crashes: a restarted node resumes where it was.
/// </summary>
internal sealed class ReplicationWorker(IReplicationContext node, TransferClient transfers, PendingWrites pending,
    NodeRuntime runtime, KeplerOptions options) : IChunkPusher
{
    private const long ProgressIntervalMicroseconds = 1_000_000;
    private readonly SortedSet<(string ChunkId, NodeId Target)> _inFlight = [];
    private readonly SortedDictionary<string, long> _surplusSince = new(StringComparer.Ordinal);
    private readonly SortedDictionary<NodeId, long> _pushPausedUntil = [];
    private readonly TokenBucket _bucket = new(runtime.Clock, options.RebalanceBandwidthBytesPerSecond);
    private IDisposable? _tick;
    private long _tickAt = long.MaxValue;
    private bool _pumping;
    private long _progressAt;
    private long _lastDepth;
    private long _deliveredSinceProgress;

    public int InFlight => _inFlight.Count;

    /// <summary>Whether a replication of the chunk is in flight.</summary>
    public bool IsInFlight(string chunkId) => _inFlight.Any(f => f.ChunkId == chunkId);

    /// <summary>Bytes sent under the bandwidth cap so far.</summary>
    public long ThrottledBytes => _bucket.GrantedBytes;

    public void Start() => Tick();

    /// <summary>Looks for due work now (new entries were queued), and polls again soon.</summary>
    public void Kick()
    {
        Pump();
        Nudge();
    }

    /// <summary>
    /// New entries were queued (possibly due a little later): makes sure the worker polls within
    /// <see cref="KeplerOptions.ReplicationPollMicroseconds"/>, as it did when it always polled that often.
    /// </summary>
    public void Nudge()
    {
        var soon = runtime.Clock.MonotonicMicroseconds + options.ReplicationPollMicroseconds;
        if (_tickAt > soon)
        {
            ScheduleTick(options.ReplicationPollMicroseconds);
        }
    }

    private void Tick()
    {
        _tick = null;
        Pump();
        SweepSurplus();
        if (runtime.Clock.MonotonicMicroseconds - _progressAt >= ProgressIntervalMicroseconds)
        {
            PublishProgress();
        }

        ScheduleTick(NextTickDelay());
    }

    /// <summary>
    /// Polls every <see cref="KeplerOptions.ReplicationPollMicroseconds"/> while there is work in sight (a delivery
    /// in flight, a surplus copy waiting for its grace, an entry due); otherwise sleeps until the earliest entry
    /// falls due, at most <see cref="KeplerOptions.ReplicationIdlePollMicroseconds"/>. An idle node woke five times
    /// a second here for nothing; whatever queues work kicks or nudges the worker.
    /// </summary>
    private long NextTickDelay()
    {
        var poll = options.ReplicationPollMicroseconds;
        if (_inFlight.Count > 0 || _surplusSince.Count > 0)
        {
            return poll;
        }

        if (node.Meta.NextQueueAttemptAt() is not { } next)
        {
            return options.ReplicationIdlePollMicroseconds;
        }

        return Math.Clamp(next - runtime.Clock.WallMicroseconds, poll, options.ReplicationIdlePollMicroseconds);
    }

    private void ScheduleTick(long delayMicroseconds)
    {
        _tick?.Dispose();
        _tickAt = runtime.Clock.MonotonicMicroseconds + delayMicroseconds;
        _tick = runtime.Clock.Schedule(delayMicroseconds, Tick);
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
            var concurrency = runtime.Buggify.Hit("replication.one_at_a_time") ? 1 : options.ReplicationConcurrency;
            var room = concurrency - _inFlight.Count;
            if (room <= 0)
            {
                return;
            }

            // The first `room` due entries not in flight are among the first room + in-flight (= concurrency) ones.
            // Reading a whole batch of 256 rows at every pump (after every delivery) picked the same entries and was
            // 13 % of a simulated run's CPU with a long queue (perf, docs/BENCHMARKS.md, issue 14).
            var limit = Math.Min(MetadataStore.QueueBatchMax, room + _inFlight.Count);
            var due = node.Meta.DueQueueEntries(runtime.Clock.WallMicroseconds, limit);
            foreach (var entry in due)
            {
                if (room == 0)
                {
                    break;
                }

                if (_inFlight.Add((entry.ChunkId, entry.Target)))
                {
                    room--;
                    runtime.Supervisor.Run("replication.deliver", () => ReplicateAsync(entry));
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
        try
        {
            var failure = await AttemptAsync(entry);
            if (failure is null)
            {
                Delivered(entry);
            }
            else if (failure is NotMember or NoLocalCopy or Garbage)
            {
                // The target left the ring, or this node no longer holds the chunk (it was surplus after a ring
                // change, or scrub dropped a bad copy): the entry can never be served from here. The repair scans
                // of the nodes that do hold it queue it for its current owners. Or the chunk became garbage here
                // after the entry was queued: it is not sent (the scan would not queue it now), and this copy is
                // left to the collector.
                node.Meta.RemoveQueueEntry(entry.ChunkId, entry.Target);
                runtime.Events.Publish(new ReplicationDropped(entry.ChunkId, entry.Target.Value, failure));
            }
            else
            {
                Failed(entry, failure);
            }
        }
        finally
        {
            // Whatever happened, the slot is free again: a leaked slot would stall the queue forever.
            _inFlight.Remove((entry.ChunkId, entry.Target));
        }

        Pump();
    }

    /// <summary>
    /// Pushes a chunk of a client write to <paramref name="target"/> straight from the upload's memory, instead of
    /// the pump reading it back from disk and hashing it again. The chunk's queue entry (recorded with the chunk)
    /// stays the safety net: on success it is removed as for a queued delivery; on failure it keeps its backoff
    /// and the pump retries it from disk. Does nothing when the entry is gone, the target is not a member or a
    /// delivery of the entry is already in flight, and for <see cref="KeplerOptions.RetryMaxMicroseconds"/> after
    /// a push to the target broke or timed out (an unreachable or slow owner is left to the queue's backoff rather
    /// than holding upload buffers; a refusal such as "busy" pauses nothing). Once it completes the caller may reuse
    /// <paramref name="data"/>. Expected failures (<see cref="IsExpectedFailure"/>) leave the entry to the queue;
    /// only a bug throws.
    /// </summary>
    public async Task PushAsync(string chunkId, NodeId target, ReadOnlyMemory<byte> data)
    {
        var now = runtime.Clock.MonotonicMicroseconds;
        if (!node.IsLive(target) || node.Meta.GetQueueEntry(chunkId, target) is not { } entry
            || (_pushPausedUntil.TryGetValue(target, out var until) && now < until)
            || !_inFlight.Add((chunkId, target)))
        {
            return;
        }

        try
        {
            var broken = false;
            var failure = await AttemptAsync(async () =>
            {
                try
                {
                    return await transfers.StoreChunkAsync(target, chunkId, data.Length,
                        () => Task.FromResult<ReadOnlyMemory<byte>?>(data), _ => Task.CompletedTask, entry.RequestId);
                }
                catch (Exception e) when (IsExpectedFailure(e))
                {
                    broken = true;
                    throw;
                }
            });
            if (failure is null)
            {
                Delivered(entry);
            }
            else
            {
                if (broken)
                {
                    // The target is unreachable or slow (not merely busy receiving this chunk from someone else).
                    _pushPausedUntil[target] = runtime.Clock.MonotonicMicroseconds + options.RetryMaxMicroseconds;
                }

                Failed(entry, failure);
            }
        }
        finally
        {
            _inFlight.Remove((chunkId, target));
        }

        Pump();
    }

    private Task<string?> AttemptAsync(QueueEntry entry) => AttemptAsync(() => TryDeliverAsync(entry));

    /// <summary>
    /// One delivery attempt; null on success, else why it failed. What a delivery expects to meet is a failure to
    /// retry: the target unreachable, reset or slow (<see cref="StreamBrokenException"/>,
    /// <see cref="TimeoutException"/>), a local disk error or a full disk (<see cref="IOException"/>), a peer
    /// that answered garbage (<see cref="Protocol.ProtocolException"/>). Anything else is a bug and escapes to the
    /// supervisor: retrying it forever hid the one failure a simulator exists to find.
    /// </summary>
    private static async Task<string?> AttemptAsync(Func<Task<string?>> deliver)
    {
        try
        {
            return await deliver();
        }
        catch (Exception e) when (IsExpectedFailure(e))
        {
            return e.Message;
        }
    }

    /// <summary>Whether a delivery failure is one the queue retries.</summary>
    internal static bool IsExpectedFailure(Exception e) =>
        e is StreamBrokenException or TimeoutException or IOException or Protocol.ProtocolException;

    private const string NotMember = "target is not a member";
    private const string NoLocalCopy = "no local copy";
    private const string Garbage = "garbage: no version keeps it";

    private async Task<string?> TryDeliverAsync(QueueEntry entry)
    {
        if (!node.IsLive(entry.Target))
        {
            return NotMember;
        }

        if (node.Meta.GetChunk(entry.ChunkId) is not { } chunk)
        {
            return NoLocalCopy;
        }

        var pastGrace = chunk.CreatedAtUs < runtime.Clock.WallMicroseconds - options.GcGraceMicroseconds;
        if ((entry.RequestId is null || pastGrace) && node.IsOwnedGarbage(node.Meta, entry.ChunkId))
        {
            // A repair or rebalance entry queued while a version kept the chunk, due after none does: delivered, it
            // gave an owner that had collected its copy a fresh one with a fresh grace, collected once more (chaos
            // fixed case 43: an entry to an owner behind a partition, delivered at the heal). So is a client write's
            // entry once the write is over without a manifest and the copy is older than the gc grace (the target
            // may have collected its own by then): no acknowledgement waits for it (a write in flight here keeps its
            // chunks pending, an acknowledged one's manifest keeps them), and the orphan pass that deletes it runs
            // only an orphan grace later. Delivered after an owner behind a one-way partition had collected its
            // copy, it made that owner collect the same garbage twice (chaos CsCheck_Seed=adTl3JrQw5i1:
            // scenarios/regressions/failed-write-entry-redelivers-garbage.yaml). Within the grace it is still
            // delivered: a delivery reads the copy, which finds a corrupt one (corrupt-copy-blocks-queue.yaml).
            return Garbage;
        }

        var corrupt = false;
        ChunkReadResult local = default;
        async Task<ReadOnlyMemory<byte>?> LoadAsync()
        {
            local = await node.Store.ReadAsync(entry.ChunkId);
            corrupt |= local.Status == ChunkStatus.Corrupt;
            return local.IsOk ? local.Data : null;
        }

        // Client writes go at full speed; repair and rebalance share the node's bandwidth cap.
        Task ThrottleAsync(long bytes) => entry.RequestId is null ? _bucket.TakeAsync(bytes) : Task.CompletedTask;
        string? failure;
        try
        {
            failure = await transfers.StoreChunkAsync(entry.Target, entry.ChunkId, chunk.SizeBytes, LoadAsync,
                ThrottleAsync, entry.RequestId);
        }
        finally
        {
            // The read is a pooled buffer: hand it back once the send has ended (or failed).
            local.Dispose();
        }

        // The local copy is corrupt: restore it from a peer (the next attempt sends it), or, if no peer has it,
        // drop it, and the entry with it. Retrying a copy that can never be read kept the queue from draining
        // (chaos regression scenarios/regressions/corrupt-copy-blocks-queue.yaml).
        return failure is not null && corrupt && !await node.ReplaceCorruptLocalCopyAsync(entry.ChunkId)
            ? NoLocalCopy
            : failure;
    }

    private void Delivered(QueueEntry entry)
    {
        var surplus = false;
        // Deferred (no WAL fsync of its own): a power loss can only bring the entry back, and delivering it again
        // is harmless (the target answers "have it"). A surplus copy is deleted by a durable commit, which makes
        // this one durable first.
        node.Meta.TransactionDeferred(meta =>
        {
            meta.RemoveQueueEntry(entry.ChunkId, entry.Target);
            surplus = IsConfirmedSurplus(meta, entry.ChunkId);
        });
        if (surplus)
        {
            _surplusSince.TryAdd(entry.ChunkId, runtime.Clock.MonotonicMicroseconds);
        }

        node.Metrics.ChunksReplicated++;
        _deliveredSinceProgress++;
        runtime.Events.Publish(new ChunkReplicated(entry.ChunkId, entry.Target.Value));
        pending.Confirm(entry.ChunkId, entry.Target);
    }

    /// <summary>
    /// An owner confirmed holding <paramref name="chunkId"/> without a queue entry being delivered (the repair
    /// scan's batched offer): a local copy this node does not own, which every owner has now confirmed, is surplus
    /// from now on, as after the last delivery of it (<see cref="Delivered"/>).
    /// </summary>
    public void NoteConfirmed(string chunkId)
    {
        if (IsConfirmedSurplus(node.Meta, chunkId))
        {
            _surplusSince.TryAdd(chunkId, runtime.Clock.MonotonicMicroseconds);
        }
    }

    /// <summary>A local copy this node does not own, which every owner has confirmed holding.</summary>
    private bool IsConfirmedSurplus(MetadataStore meta, string chunkId) =>
        meta.GetChunk(chunkId) is { State: ChunkState.Hinted } && !node.OwnsChunk(chunkId)
        && node.Ring.OwnersOf(chunkId).All(o => meta.GetQueueEntry(chunkId, o) is null);

    /// <summary>Deletes surplus copies whose grace period has passed, re-checking that they are still surplus.</summary>
    private void SweepSurplus()
    {
        var now = runtime.Clock.MonotonicMicroseconds;
        foreach (var (chunkId, since) in _surplusSince.ToList())
        {
            if (now - since < options.SurplusGraceMicroseconds)
            {
                continue;
            }

            _surplusSince.Remove(chunkId);
            if (IsConfirmedSurplus(node.Meta, chunkId) && !_inFlight.Any(f => f.ChunkId == chunkId))
            {
                runtime.Supervisor.Run("replication.surplus_delete", () => DeleteSurplusAsync(chunkId));
            }
        }
    }

    /// <summary>
    /// Deletes a surplus copy as the garbage collector deletes garbage (the row at once, then the file): while the
    /// file goes, a peer's store or offer of the chunk is answered "busy" or "lacking". With the row deleted here
    /// and the file by a task of its own, a peer's store between the two found the file, verified it, answered
    /// "have it" and recorded the row again, and the file then went: a row without a file (chaos, fresh case
    /// CsCheck_Seed=cu6WmQb7zLm2 with a slow disk: scenarios/regressions/surplus-delete-races-store.yaml). A failed
    /// file delete leaves the file without a row; startup recovery indexes it again and the repair scan then treats
    /// it as any other copy.
    /// </summary>
    private async Task DeleteSurplusAsync(string chunkId)
    {
        if (await node.DeleteUnneededAsync(chunkId))
        {
            runtime.Events.Publish(new SurplusDropped(chunkId));
        }
        else if (IsConfirmedSurplus(node.Meta, chunkId))
        {
            // Refused while a write or a peer's store of it was in progress here: judged again after the grace,
            // not left to the next repair scan's confirmation.
            _surplusSince.TryAdd(chunkId, runtime.Clock.MonotonicMicroseconds);
        }
    }

    private void PublishProgress()
    {
        var depth = node.Meta.CountQueue();
        var now = runtime.Clock.MonotonicMicroseconds;
        if (depth == 0 && _lastDepth == 0)
        {
            // Idle: the next interval starts here. Left where it was, the first event after a quiet hour spread its
            // deliveries over the hour (a rate near zero, an ETA far too long).
            _progressAt = now;
            _deliveredSinceProgress = 0;
            return;
        }

        var seconds = Math.Max(1e-6, (now - _progressAt) / 1e6);
        var rate = _deliveredSinceProgress / seconds;
        var eta = rate > 0 ? (long)(depth / rate * 1e6) : -1;
        runtime.Events.Publish(new ReplicationProgress(depth, node.Meta.QueueBytes(), Math.Round(rate, 1), eta));
        _lastDepth = depth;
        _progressAt = now;
        _deliveredSinceProgress = 0;
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
