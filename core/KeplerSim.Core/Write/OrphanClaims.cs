namespace KeplerSim.Core.Write;

/// <summary>
/// Which writes stored or counted this node's copy of a chunk, for the chunks a client write created here (in
/// memory: a restart forgets them all, and a forgotten chunk is left to the gc grace). A chunk is tracked only when
/// a write's copy was the first this node had of it (no record, no file); from then on every write that stores or
/// confirms it here adds its request id, and anything else that records or confirms it (a repair, a read repair, a
/// queued delivery without a request, startup recovery) stops the tracking for good. A tracked chunk whose every
/// write was abandoned (its writer said so: the write failed before its manifest existed) is an orphan: the orphan
/// collector deletes it once <see cref="Node.KeplerOptions.OrphanGraceMicroseconds"/> has passed and no manifest
/// here references it (docs/PROTOCOL.md, "Orphan chunks").
/// </summary>
internal sealed class OrphanClaims
{
    /// <summary>Chunks tracked at most; beyond it new chunks are not tracked (the gc grace covers them).</summary>
    public const int TrackedMax = 65_536;

    private readonly SortedDictionary<string, Claims> _byChunk = new(StringComparer.Ordinal);

    /// <summary>Chunks tracked now.</summary>
    public int Count => _byChunk.Count;

    /// <summary>
    /// Write <paramref name="requestId"/> stored or counted this node's copy of <paramref name="chunkId"/> at
    /// <paramref name="nowMicroseconds"/>; <paramref name="created"/> says the copy is the first this node has.
    /// A null request (a repair, a queued delivery without one) stops the tracking.
    /// </summary>
    public void Claim(string chunkId, string? requestId, bool created, long nowMicroseconds)
    {
        if (requestId is null)
        {
            _byChunk.Remove(chunkId);
            return;
        }

        if (_byChunk.TryGetValue(chunkId, out var claims))
        {
            claims.Open.Add(requestId);
            claims.LastClaimAt = nowMicroseconds;
        }
        else if (created && _byChunk.Count < TrackedMax)
        {
            _byChunk[chunkId] = new Claims(nowMicroseconds) { Open = { requestId } };
        }
    }

    /// <summary>Stops tracking <paramref name="chunkId"/> (recorded by a path that carries no write).</summary>
    public void Untrack(string chunkId) => _byChunk.Remove(chunkId);

    /// <summary>Write <paramref name="requestId"/> was abandoned: its claim on <paramref name="chunkId"/> ends.
    /// </summary>
    public void Abandon(string chunkId, string requestId, long nowMicroseconds)
    {
        if (_byChunk.TryGetValue(chunkId, out var claims) && claims.Open.Remove(requestId) && claims.Open.Count == 0)
        {
            claims.OrphanedAt = nowMicroseconds;
        }
    }

    /// <summary>Whether <paramref name="chunkId"/> is tracked and <paramref name="requestId"/> claims it.</summary>
    public bool IsClaimedBy(string chunkId, string requestId) =>
        _byChunk.TryGetValue(chunkId, out var claims) && claims.Open.Contains(requestId);

    /// <summary>
    /// Tracked chunks whose every claim was abandoned at least <paramref name="graceMicroseconds"/> before
    /// <paramref name="nowMicroseconds"/>, ordered by id. Chunks last claimed more than
    /// <paramref name="forgetMicroseconds"/> ago with a claim still open (a writer that crashed, an abandonment
    /// that never arrived) are forgotten: the gc grace covers them.
    /// </summary>
    public List<string> Due(long nowMicroseconds, long graceMicroseconds, long forgetMicroseconds)
    {
        var due = new List<string>();
        foreach (var (id, claims) in _byChunk.ToList())
        {
            if (claims.Open.Count == 0 && nowMicroseconds - claims.OrphanedAt >= graceMicroseconds)
            {
                due.Add(id);
            }
            else if (claims.Open.Count > 0 && nowMicroseconds - claims.LastClaimAt >= forgetMicroseconds)
            {
                _byChunk.Remove(id);
            }
        }

        return due;
    }

    private sealed class Claims(long nowMicroseconds)
    {
        public SortedSet<string> Open { get; } = new(StringComparer.Ordinal);

        public long LastClaimAt { get; set; } = nowMicroseconds;

        public long OrphanedAt { get; set; }
    }
}
