using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Write;

/// <summary>
/// The writes in progress on one node, by the chunk ids they wait on. A copy made durable on an owner (by a direct
/// push or a queued delivery) is confirmed here, to every write that waits on that chunk.
/// </summary>
internal sealed class PendingWrites
{
    private readonly SortedDictionary<string, List<WriteTracker>> _byChunk = new(StringComparer.Ordinal);

    /// <summary>Chunk ids some write in progress waits on.</summary>
    public int ChunkCount => _byChunk.Count;

    /// <summary>Whether a write in progress waits on the chunk.</summary>
    public bool Contains(string chunkId) => _byChunk.ContainsKey(chunkId);

    /// <summary>Registers <paramref name="tracker"/> as waiting on <paramref name="chunkId"/> (once).</summary>
    public void Add(string chunkId, WriteTracker tracker)
    {
        if (!_byChunk.TryGetValue(chunkId, out var list))
        {
            _byChunk[chunkId] = list = [];
        }

        // A file may hold the same chunk twice: track it once, or Remove would leave the second behind.
        if (!list.Contains(tracker))
        {
            list.Add(tracker);
        }
    }

    /// <summary>A replica of <paramref name="chunkId"/> is durable on <paramref name="owner"/>.</summary>
    public void Confirm(string chunkId, NodeId owner)
    {
        if (_byChunk.TryGetValue(chunkId, out var list))
        {
            // A copy: completing a tracker may finish its write, which removes the tracker from this list.
            foreach (var tracker in list.ToList())
            {
                tracker.Confirm(chunkId, owner);
            }
        }
    }

    /// <summary>Forgets a finished (or failed) write.</summary>
    public void Remove(WriteTracker tracker)
    {
        foreach (var id in tracker.ChunkIds)
        {
            if (_byChunk.TryGetValue(id, out var list))
            {
                list.Remove(tracker);
                if (list.Count == 0)
                {
                    _byChunk.Remove(id);
                }
            }
        }
    }
}
