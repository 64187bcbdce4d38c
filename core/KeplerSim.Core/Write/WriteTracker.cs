using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Write;

/// <summary>
/// Counts, for every chunk of one write, the distinct owners holding a durable copy, and completes when each chunk
/// has the copies the write's durability requires.
/// </summary>
internal sealed class WriteTracker(string requestId, int required)
{
    private readonly SortedDictionary<string, (int Needed, SortedSet<NodeId> Owners, TaskCompletionSource Met)>
        _chunks = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _done = new();
    private int _unmet;

    /// <summary>The write's request id (recorded with its queue entries: client writes are not throttled).</summary>
    public string RequestId => requestId;

    /// <summary>The metadata commit sequence of this write's last chunk record (deferred commits).</summary>
    public long RecordedThrough { get; set; }

    /// <summary>Distinct durable copies each chunk needs (0: a <c>fast</c> write waits for none).</summary>
    public int Required => required;

    /// <summary>Completes when every chunk expected so far has its required copies.</summary>
    public Task Done
    {
        get
        {
            if (_unmet == 0)
            {
                _done.TrySetResult();
            }

            return _done.Task;
        }
    }

    /// <summary>The chunks of this write.</summary>
    public IEnumerable<string> ChunkIds => _chunks.Keys;

    /// <summary>Completes when <paramref name="chunkId"/> (already expected) has its required copies.</summary>
    public Task CopiesOf(string chunkId) => _chunks[chunkId].Met.Task;

    /// <summary>Starts counting copies of <paramref name="chunkId"/>, which has <paramref name="owners"/> owners.
    /// </summary>
    public void Expect(string chunkId, int owners)
    {
        if (!_chunks.ContainsKey(chunkId))
        {
            // Never fewer than required: with fewer owners than copies promised (the live ring shrank below
            // N during the write) the chunk waits, and the write fails when its time is up.
            Invariant.That(owners >= 1, "a chunk has at least one owner");
            var needed = required;
            var met = new TaskCompletionSource();
            _chunks[chunkId] = (needed, [], met);
            if (needed > 0)
            {
                _unmet++;
            }
            else
            {
                met.TrySetResult();
            }
        }
    }

    /// <summary>A durable copy of the chunk is on <paramref name="owner"/> (each owner counts once).</summary>
    public void Confirm(string chunkId, NodeId owner)
    {
        if (_chunks.TryGetValue(chunkId, out var state) && state.Owners.Add(owner)
            && state.Owners.Count == state.Needed)
        {
            _unmet--;
            state.Met.TrySetResult();
            if (_unmet == 0)
            {
                _done.TrySetResult();
            }
        }
    }
}
