using KeplerSim.Core.Manifests;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Transfer;
using KeplerSim.Core.Write;

namespace KeplerSim.Core.Node;

/// <summary>
/// Orphan collection (docs/PROTOCOL.md, "Orphan chunks"): the chunks of a write abandoned before its manifest
/// existed are deleted within <see cref="KeplerOptions.OrphanGraceMicroseconds"/> on every node that learns of the
/// abandonment, but only where every write that stored or counted the copy was abandoned and nothing else
/// (a manifest, a write in flight, a transfer, a queue entry) needs it.
/// </summary>
public sealed partial class KeplerNode
{
    private readonly OrphanClaims _orphans = new();
    private readonly SortedDictionary<string, SortedSet<string>> _abandoning = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _createdByWrite = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, TaskCompletionSource> _collecting = new(StringComparer.Ordinal);

    /// <summary>
    /// Chunks a local write has hashed and is storing but not yet recorded (by count of writes): the store may find
    /// the file present and the write count it, so neither collector may delete it in between (a re-upload of an
    /// aborted upload's bytes lost its chunk to the collector that way: LimitTests, seen once under load).
    /// </summary>
    private readonly SortedDictionary<string, int> _storing = new(StringComparer.Ordinal);

    private void ReleaseStoring(string chunkId)
    {
        if (_storing.TryGetValue(chunkId, out var count))
        {
            if (count <= 1)
            {
                _storing.Remove(chunkId);
            }
            else
            {
                _storing[chunkId] = count - 1;
            }
        }
    }
    private bool _orphanPassArmed;

    /// <summary>Chunks the orphan collector deleted.</summary>
    public long OrphansCollected { get; private set; }

    /// <summary>Chunks tracked for orphan collection now (for tests and status).</summary>
    internal int OrphanCandidates => _orphans.Count;

    /// <summary>Whether a chunk is being deleted (a store of it is answered "busy" meanwhile).</summary>
    internal bool IsCollecting(string chunkId) => _collecting.ContainsKey(chunkId);

    void ITransferServerContext.ChunkClaimed(string chunkId, string? requestId, bool created)
    {
        if (requestId is not null || created)
        {
            // A write counts this copy from the reply on, possibly an old unreferenced one: no gc before its
            // manifest can arrive; and a copy just received here waits a grace as well. A repair that found a
            // copy already here (a scan's offer) is no use of it: peers' periodic scans confirmed every copy more
            // often than the gc grace passes, so with the defaults (a scan a minute, an hour's grace) no chunk
            // with two or more owners was ever collected
            // (GarbageCollectorTests.Garbage_is_collected_while_peers_repair_scans_keep_confirming_its_copies).
            _gc?.Touch(chunkId);
        }

        _orphans.Claim(chunkId, requestId, created, _runtime.Clock.MonotonicMicroseconds);
    }

    void ITransferServerContext.ChunksAbandoned(string requestId, IReadOnlyList<string> chunkIds)
    {
        foreach (var id in chunkIds)
        {
            _orphans.Abandon(id, requestId, _runtime.Clock.MonotonicMicroseconds);
        }

        ArmOrphanPass();
    }

    bool ITransferServerContext.IsCollecting(string chunkId) => IsCollecting(chunkId);

    /// <summary>
    /// A write failed or was cut off before its manifest existed: its chunks are handed to the next orphan pass,
    /// which ends the write's claims here and on every member once nothing of the write still moves them.
    /// </summary>
    void IWriteContext.AbandonWrite(string requestId, IReadOnlyList<string> chunkIds)
    {
        if (chunkIds.Count == 0)
        {
            return;
        }

        if (!_abandoning.TryGetValue(requestId, out var chunks))
        {
            _abandoning[requestId] = chunks = new SortedSet<string>(StringComparer.Ordinal);
        }

        chunks.UnionWith(chunkIds);
        ArmOrphanPass();
    }

    /// <summary>Waits while the collector deletes <paramref name="chunkId"/> (a local write of the same bytes).
    /// </summary>
    private async Task WaitWhileCollectedAsync(string chunkId)
    {
        while (_collecting.TryGetValue(chunkId, out var deleting))
        {
            await deleting.Task;
        }
    }

    private void ArmOrphanPass()
    {
        if (_orphanPassArmed)
        {
            return;
        }

        _orphanPassArmed = true;
        var interval = Math.Max(1, _options.OrphanGraceMicroseconds / 4);
        _runtime.Clock.Schedule(interval, () => _runtime.Supervisor.Run("orphan.pass", OrphanPassAsync));
    }

    private async Task OrphanPassAsync()
    {
        _orphanPassArmed = false;
        try
        {
            SendAbandonments();
            await CollectOrphansAsync();
        }
        finally
        {
            if (_abandoning.Count > 0 || _orphans.Count > 0)
            {
                ArmOrphanPass();
            }
        }
    }

    /// <summary>
    /// Ends the claims of abandoned writes on chunks nothing of theirs still moves. A chunk a manifest here references,
    /// or another write in flight here waits on, is left out for good: that write may push the chunk under the
    /// abandoned write's queue entry (an entry keeps the first write's id), so its copies may carry the abandoned
    /// id. A chunk still in a transfer (a delivery of the write's entry) waits for the next pass.
    /// </summary>
    private void SendAbandonments()
    {
        var now = _runtime.Clock.MonotonicMicroseconds;
        foreach (var (requestId, chunks) in _abandoning.ToList())
        {
            var ready = new List<string>();
            foreach (var id in chunks.ToList())
            {
                if (_pending.Contains(id) || Meta.IsChunkReferenced(id))
                {
                    chunks.Remove(id);
                }
                else if (!IsMoving(id))
                {
                    chunks.Remove(id);
                    ready.Add(id);
                }
            }

            if (chunks.Count == 0)
            {
                _abandoning.Remove(requestId);
            }

            if (ready.Count == 0)
            {
                continue;
            }

            // The write's own queue entries go (nothing else queued them: another write's would be pending).
            Meta.Transaction(meta => ready.ForEach(id => meta.RemoveQueueEntriesOfRequest(id, requestId)));
            ready.ForEach(id => _orphans.Abandon(id, requestId, now));
            foreach (var member in Cluster.Members.Where(m => m.Id != Id))
            {
                foreach (var batch in ready.Chunk(AbandonChunksRequest.ChunkIdsMax))
                {
                    var request = new AbandonChunksRequest(requestId, batch);
                    _runtime.Supervisor.Run("orphan.abandon", () => SendAbandonmentAsync(member.Id, request));
                }
            }
        }
    }

    private async Task SendAbandonmentAsync(NodeId member, AbandonChunksRequest request)
    {
        try
        {
            await _client.RequestAsync<AbandonChunksReply>(member, request);
        }
        catch (Exception e) when (TransferChannel.IsTransferFailure(e))
        {
            // Best effort: a member that never hears of it keeps its copy until the gc grace.
        }
    }

    private async Task CollectOrphansAsync()
    {
        var now = _runtime.Clock.MonotonicMicroseconds;
        foreach (var id in _orphans.Due(now, _options.OrphanGraceMicroseconds, _options.GcGraceMicroseconds))
        {
            if (Meta.IsChunkReferenced(id))
            {
                _orphans.Untrack(id); // A manifest here needs it now: the gc grace governs it from now on.
            }
            else if (!IsMoving(id) && !Meta.IsChunkQueued(id))
            {
                _orphans.Untrack(id);
                if (await DeleteUnneededAsync(id))
                {
                    OrphansCollected++;
                    _runtime.Events.Publish(new ChunkOrphanCollected(id));
                }
            }
        }
    }

    /// <summary>Most chunk ids <see cref="RememberCollected"/> keeps (the oldest are forgotten first).</summary>
    public const int CollectedRememberedMax = 1024;

    private readonly SortedSet<string> _collectedRecently = new(StringComparer.Ordinal);
    private readonly Queue<string> _collectedOrder = new();

    /// <summary>
    /// Remembers a chunk this node deleted as unneeded, so that a manifest referencing it that arrives later brings
    /// the copy back if this node owns it (<see cref="RestoreCollectedChunksOf"/>). Bounded; not kept across a
    /// restart (the peers' repair scans cover what is forgotten).
    /// </summary>
    private void RememberCollected(string id)
    {
        if (!_collectedRecently.Add(id))
        {
            return;
        }

        _collectedOrder.Enqueue(id);
        while (_collectedOrder.Count > CollectedRememberedMax)
        {
            _collectedRecently.Remove(_collectedOrder.Dequeue());
        }
    }

    /// <summary>
    /// A live manifest (a winner or a conflict) just recorded here references chunks this node collected as
    /// garbage: those it owns and no longer holds are restored from peers. The collector judged by the manifests it
    /// had; one held back longer than the gc grace (a partition) arrives after the copy went, and the peers, whose
    /// pushes were delivered before it went, send nothing again: only a repair scan, a minute later, brought the copy
    /// back (chaos CsCheck_Seed=3__cy2ZZ1Os1: scenarios/regressions/gc-collects-before-partitioned-manifest.yaml).
    /// Costs nothing on the hot path: only a manifest listing a remembered chunk reads the metadata.
    /// </summary>
    private void RestoreCollectedChunksOf(Manifest manifest, string rowId)
    {
        var collected = manifest.Chunks.Select(c => c.Hex)
            .Where(id => _collectedRecently.Contains(id) || _collecting.ContainsKey(id))
            .Distinct(StringComparer.Ordinal).Where(OwnsChunk).ToList();
        if (collected.Count == 0 || Meta.GetFileVersion(rowId) is not { Superseded: false })
        {
            return; // Superseded history's chunks are the collector's again once its grace is over.
        }

        if (collected.Where(id => Meta.GetChunk(id) is null).ToList() is { Count: > 0 } lacking)
        {
            RestoreLater(lacking);
        }
    }

    /// <summary>
    /// The ring changed from <paramref name="previous"/>: chunks this node deleted as unneeded that it owns now and
    /// did not before, that a live version (a winner or a conflict) lists and that it no longer holds are restored
    /// from peers. A surplus copy dropped under the ring this node had then is wrong once it hears of a change the
    /// others knew already (a member's leave): they had counted its copy under their newer ring before it went, so
    /// nothing sent it again before the repair scan (`kepler-sim swarm
    /// scenarios/regressions/surplus-delete-races-verified-store.yaml --first-seed 9003 -n 1`: replicas_on_owners
    /// failed at the 40 s bound). Chunks owned all along are the manifest-time restore's
    /// (<see cref="RestoreCollectedChunksOf"/>); the metadata is read only for the newly owned ones. (A horizon of
    /// <see cref="long.MaxValue"/> keeps no history: only a live version counts.)
    /// </summary>
    private void RestoreCollectedOwnedChunks(HashRing previous)
    {
        var lacking = _collectedRecently.Where(id => OwnsChunk(id) && !previous.IsOwner(Id, id))
            .Where(id => Meta.GetChunk(id) is null && Meta.IsChunkKept(id, historyHorizonUs: long.MaxValue)).ToList();
        if (lacking.Count > 0)
        {
            RestoreLater(lacking);
        }
    }

    /// <summary>
    /// Deletes a chunk no one needs (its row, then its file). While the file goes, a peer's store of the chunk is
    /// answered "busy" and a local write of it waits: either could otherwise count the copy being deleted. Nor does
    /// it start while a peer's store or offer of the chunk is being answered here: that answer checked for a delete
    /// only when it began, so one that found the file durable recorded the row again after the delete had removed it
    /// and answered "have it" as the file went (chaos CsCheck_Seed=6_ExLcoNoeI2, a surplus drop racing a hand-off's
    /// store: scenarios/regressions/surplus-delete-races-verified-store.yaml).
    /// </summary>
    internal async Task<bool> DeleteUnneededAsync(string id)
    {
        if (_storing.ContainsKey(id))
        {
            return false; // A local write is storing it and may count the copy.
        }

        if (_server.IsReceiving(id))
        {
            return false; // A peer's store of it is being answered and may count the copy.
        }

        var deleting = new TaskCompletionSource();
        if (!_collecting.TryAdd(id, deleting))
        {
            return false; // Being deleted already.
        }

        try
        {
            var recorded = Meta.DeleteChunk(id);
            var deleted = await Store.DeleteAsync(id);
            if (recorded || deleted)
            {
                RememberCollected(id);
            }

            return recorded || deleted;
        }
        catch (IOException)
        {
            return false; // The file stays without a row; recovery registers it again, the gc grace covers it.
        }
        finally
        {
            _collecting.Remove(id);
            deleting.TrySetResult();
        }
    }
}
