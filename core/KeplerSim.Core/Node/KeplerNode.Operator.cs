using KeplerSim.Core.Metadata;
using KeplerSim.Core.Replication;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Node;

/// <summary>
/// What an operator asks a node directly: which chunks still lack copies (clusterF's under-replicated report), and
/// an integrity check of every local chunk now (clusterF's integrity check) instead of waiting for scrub.
/// </summary>
public sealed partial class KeplerNode
{
    /// <summary>
    /// One page of the chunks this node still has to copy somewhere, by id after <paramref name="afterId"/>: for
    /// each, the copies it knows of (N minus the owners still waiting for this node's copy) and those owners. A
    /// node only knows its own queue, so the cluster's picture is the union of every node's answer.
    /// </summary>
    public async Task<UnderReplicatedPage> UnderReplicatedAsync(string? afterId = null, int limit = 100)
    {
        await EnsureReadyAsync();
        var page = Math.Clamp(limit, 1, MetadataStore.QueueBatchMax);
        var target = ReplicationTarget;
        var rows = Meta.ListQueuedChunks(afterId, page);
        var chunks = rows.Select(r => new UnderReplicatedChunk(r.ChunkId, Math.Max(0, target - r.Targets.Count),
            r.Targets.Select(t => t.Value).ToList())).ToList();
        var next = rows.Count == page && Meta.ListQueuedChunks(rows[^1].ChunkId, 1).Count > 0
            ? rows[^1].ChunkId
            : null;
        return new UnderReplicatedPage(target, Meta.CountQueuedChunks(), Meta.CountReferencedChunks(), chunks, next);
    }

    /// <summary>
    /// Verifies every chunk this node stores, now, in id order: a corrupt or missing copy is replaced from a peer
    /// (as scrub does); a chunk that cannot be read (an I/O error) is counted and left for a later pass.
    /// </summary>
    public async Task<IntegrityReport> CheckIntegrityAsync()
    {
        await EnsureReadyAsync();
        long verified = 0, corrupt = 0, missing = 0, repaired = 0, unreadable = 0;
        for (var batch = Meta.ListChunks(); batch.Count > 0; batch = Meta.ListChunks(batch[^1].Id))
        {
            foreach (var chunk in batch)
            {
                if (await Scrubber.CheckAsync(this, _runtime.Events, chunk.Id) is not { } outcome)
                {
                    unreadable++;
                    continue;
                }

                verified++;
                corrupt += outcome.Status == ChunkStatus.Corrupt ? 1 : 0;
                missing += outcome.Status == ChunkStatus.Missing ? 1 : 0;
                repaired += outcome.Repaired ? 1 : 0;
            }
        }

        return new IntegrityReport(verified, corrupt, missing, repaired, unreadable);
    }
}

/// <summary>One chunk with copies still to deliver.</summary>
/// <param name="ChunkId">The chunk.</param>
/// <param name="Copies">Owner copies this node knows of: N minus <paramref name="Missing"/>.</param>
/// <param name="Missing">The owners still waiting for this node's copy.</param>
public sealed record UnderReplicatedChunk(string ChunkId, int Copies, IReadOnlyList<string> Missing);

/// <summary>A page of <see cref="KeplerNode.UnderReplicatedAsync"/>.</summary>
/// <param name="ReplicationTarget">N, the copies every chunk should have.</param>
/// <param name="Total">Chunks this node still has to copy somewhere (all pages).</param>
/// <param name="ReferencedChunks">Distinct chunks the live versions this node knows reference.</param>
/// <param name="Chunks">This page, by chunk id.</param>
/// <param name="Next">The cursor for the next page, or null on the last.</param>
public sealed record UnderReplicatedPage(
    int ReplicationTarget, long Total, long ReferencedChunks, IReadOnlyList<UnderReplicatedChunk> Chunks,
    string? Next);

/// <summary>What <see cref="KeplerNode.CheckIntegrityAsync"/> found.</summary>
/// <param name="Checked">Chunks read and hashed.</param>
/// <param name="Corrupt">Chunks whose bytes did not hash to their id.</param>
/// <param name="Missing">Chunks the index lists but the disk does not have.</param>
/// <param name="Repaired">Corrupt or missing chunks replaced from a peer.</param>
/// <param name="Unreadable">Chunks an I/O error kept from being read (not counted as checked).</param>
public sealed record IntegrityReport(long Checked, long Corrupt, long Missing, long Repaired, long Unreadable);
