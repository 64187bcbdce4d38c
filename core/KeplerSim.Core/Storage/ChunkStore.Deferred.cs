namespace KeplerSim.Core.Storage;

public sealed partial class ChunkStore
{
    // Chunk files recovery found but did not read (RecoverAsync with deferContent), by id: whether the index knew
    // them. Only looked up, never enumerated (the order is _deferredOrder), so hashing order never reaches behaviour.
    private readonly Dictionary<string, bool> _deferred = new(StringComparer.Ordinal);
    private readonly List<string> _deferredOrder = [];
    private RecoveryFindings _deferredFindings = new();

    /// <summary>Chunk files found at startup whose bytes no one has verified since (see
    /// <see cref="RecoverAsync"/>).</summary>
    public int DeferredCount => _deferred.Count;

    /// <summary>
    /// Whether <paramref name="id"/> is a file recovery left unread that nothing has verified since: it must be
    /// read and hashed before anyone counts or serves it.
    /// </summary>
    public bool IsDeferred(string id) => _deferred.ContainsKey(id);

    /// <summary>
    /// The files recovery left unread, in the walk's order (ordinal), each with whether the index knew it, and the
    /// report's lists the caller appends its findings to. Once: a second call returns nothing.
    /// </summary>
    public (IReadOnlyList<(string Id, bool Known)> Chunks, RecoveryFindings Findings) TakeDeferred()
    {
        var chunks = _deferredOrder.Where(_deferred.ContainsKey).Select(id => (id, _deferred[id])).ToList();
        _deferredOrder.Clear();
        return (chunks, _deferredFindings);
    }

    /// <summary>Ends the deferral of <paramref name="id"/> without a verdict (the caller read it, or gave up on an
    /// I/O error and leaves it to scrub, which verifies it before vouching: <see cref="VerifyAsync"/>).</summary>
    public void EndDeferral(string id) => _deferred.Remove(id);

    /// <summary>The bytes of <paramref name="id"/> were just verified, replaced or deleted: no longer deferred.
    /// </summary>
    private void Vouched(string id) => _deferred.Remove(id);
}

/// <summary>
/// What startup recovery found by reading chunk files; the lists are the ones its <see cref="RecoveryReport"/>
/// shows, so a deferred check (<see cref="ChunkStore.TakeDeferred"/>) appends to the same report.
/// </summary>
public sealed class RecoveryFindings
{
    /// <summary>Known to the index and verified.</summary>
    public int Verified { get; set; }

    /// <summary>Valid but unknown to the index: registered.</summary>
    public List<string> Registered { get; } = [];

    /// <summary>Corrupt and unknown to the index: deleted.</summary>
    public List<string> DeletedCorrupt { get; } = [];

    /// <summary>Known to the index but corrupt: deleted and marked missing.</summary>
    public List<string> CorruptKnown { get; } = [];
}
