using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Replication;

/// <summary>
/// Reclaims chunks no manifest needs. First, history (versions a later write superseded) older than the grace
/// period gives up its chunk references (the row stays, so a peer cannot resurrect it). Then a chunk that no
/// live or conflict version references, that was stored longer ago than the grace period, and that no transfer
/// is moving, is deleted. The grace period outlasts the write timeout and manifest dissemination, so a chunk
/// whose manifest is still on its way is never taken for garbage.
/// <para>
/// "Longer ago" holds on both clocks: the wall clock (the row's <c>created_at</c>, which survives a restart) and,
/// for a chunk this process stored, received or counted for a write, the monotonic clock since that last use
/// (<see cref="Touch"/>). The wall clock alone let an NTP step forward eat the grace of a copy whose manifest was
/// still on its way, and took an old unreferenced copy that a new write of the same bytes had just counted
/// (scenarios/regressions/gc-grace-survives-clock-jump.yaml).
/// </para>
/// </summary>
internal sealed class GarbageCollector(IGarbageContext node, NodeRuntime runtime, KeplerOptions options)
{
    private const int BatchMax = 256;
    private readonly SortedDictionary<string, long> _usedAt = new(StringComparer.Ordinal);
    private readonly Queue<(long At, string ChunkId)> _uses = new();

    /// <summary>Chunks deleted so far.</summary>
    public long Collected { get; private set; }

    public void Start() => Schedule();

    /// <summary>
    /// The chunk was just stored, received or counted for a write: whatever its row's age, it is not garbage for
    /// another grace period on this node's monotonic clock.
    /// </summary>
    public void Touch(string chunkId)
    {
        var now = runtime.Clock.MonotonicMicroseconds;
        _usedAt[chunkId] = now;
        _uses.Enqueue((now, chunkId));
    }

    /// <summary>Whether the chunk was used within the grace period (forgets uses older than that).</summary>
    private bool UsedRecently(string chunkId, long now)
    {
        while (_uses.TryPeek(out var use) && now - use.At >= options.GcGraceMicroseconds)
        {
            _uses.Dequeue();
            if (_usedAt.TryGetValue(use.ChunkId, out var at) && at == use.At)
            {
                _usedAt.Remove(use.ChunkId);
            }
        }

        return _usedAt.ContainsKey(chunkId);
    }

    private void Schedule() =>
        runtime.Clock.Schedule(options.GcIntervalMicroseconds, () => runtime.Supervisor.Run("gc.run", RunAsync));

    private async Task RunAsync()
    {
        try
        {
            var horizon = runtime.Clock.WallMicroseconds - options.GcGraceMicroseconds;
            node.Meta.Transaction(meta =>
            {
                foreach (var fileId in meta.ListSupersededWithReferences(horizon, BatchMax))
                {
                    meta.DropChunkReferences(fileId);
                }
            });
            foreach (var chunk in node.Meta.ListUnreferencedChunks(limit: BatchMax))
            {
                if (chunk.CreatedAtUs < horizon && !UsedRecently(chunk.Id, runtime.Clock.MonotonicMicroseconds)
                    && !node.IsMoving(chunk.Id) && await node.DeleteUnneededAsync(chunk.Id))
                {
                    Collected++;
                    runtime.Events.Publish(new ChunkCollected(chunk.Id));
                }
            }
        }
        catch (IOException)
        {
            // A failing delete leaves the file; the next run finds it again (its row is gone: recovery re-adds it).
        }
        finally
        {
            Schedule();
        }
    }
}
