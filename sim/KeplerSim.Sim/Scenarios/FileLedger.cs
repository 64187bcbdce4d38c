namespace KeplerSim.Sim.Scenarios;

/// <summary>The kind of a client file operation.</summary>
public enum FileOpKind
{
    /// <summary>A put.</summary>
    Put,
    /// <summary>A get.</summary>
    Get,
    /// <summary>A delete.</summary>
    Delete,
    /// <summary>A list.</summary>
    List,
}

/// <summary>One client file operation issued by a step or a workload, and how it ended.</summary>
public sealed class FileOp
{
    /// <summary>Issue order.</summary>
    public long Id { get; init; }

    /// <summary>What it does.</summary>
    public FileOpKind Kind { get; init; }

    /// <summary>The path (prefix for list).</summary>
    public string Path { get; init; } = "";

    /// <summary>The node it went to.</summary>
    public string Node { get; init; } = "";

    /// <summary>The node's epoch when it was issued (a crash orphans it).</summary>
    public int Epoch { get; init; }

    /// <summary>Virtual time it was issued.</summary>
    public long IssuedAt { get; init; }

    /// <summary>
    /// When the node's loop took the request (simulator only: a paused node takes it at its resume): the instant,
    /// and how many protocol events the event checkers had seen by then (<c>EventCheckers.Seen</c>), which orders it
    /// among what the node did in the same microsecond. Null until then, and in real mode.
    /// </summary>
    internal Invariants.Moment? Begun { get; private set; }

    /// <summary>Put: SHA-256 hex of the content written.</summary>
    public string? ContentHash { get; init; }

    /// <summary>Put: bytes written.</summary>
    public long SizeBytes { get; init; }

    /// <summary>Virtual time it completed, or null while pending (forever, if its node crashed).</summary>
    public long? CompletedAt { get; private set; }

    /// <summary><c>ok</c>, <c>not_found</c> or <c>error</c>; null while pending.</summary>
    public string? Outcome { get; private set; }

    /// <summary>Error text, get's content hash, or list's entry count.</summary>
    public string? Detail { get; private set; }

    /// <summary>Put and delete: the version token the cluster gave the acknowledged write (null otherwise).</summary>
    public string? Version { get; private set; }

    internal void MarkBegun(long now, long order) => Begun = new Invariants.Moment(now, order);

    internal void Complete(long now, string outcome, string? detail, string? version = null)
    {
        CompletedAt = now;
        Outcome = outcome;
        Detail = detail;
        Version = version;
    }
}

/// <summary>What a final read of a path may return, given the acknowledged history.</summary>
/// <param name="Hashes">Content hashes that are acceptable.</param>
/// <param name="NotFoundAllowed">Whether "not found" is acceptable.</param>
/// <param name="LastAcknowledged">The last acknowledged operation the rule is anchored on.</param>
public sealed record AllowedRead(IReadOnlySet<string> Hashes, bool NotFoundAllowed, FileOp LastAcknowledged);

/// <summary>
/// Every client file operation of a run. The final check of a path anchors on its last acknowledged put or
/// delete L: a read may return L's result, or that of any put/delete that was not acknowledged before L was
/// issued (concurrent with or after L, or never acknowledged), because any of those may win.
/// </summary>
public sealed class FileLedger
{
    private readonly List<FileOp> _ops = [];
    private readonly SortedDictionary<string, List<FileOp>> _writes = new(StringComparer.Ordinal);

    /// <summary>Every operation, in issue order.</summary>
    public IReadOnlyList<FileOp> Ops => _ops;

    /// <summary>Records a new operation.</summary>
    public FileOp Begin(FileOpKind kind, string path, string node, int epoch, long now, string? hash = null,
        long size = 0)
    {
        var op = new FileOp
        {
            Id = _ops.Count, Kind = kind, Path = path, Node = node, Epoch = epoch, IssuedAt = now,
            ContentHash = hash, SizeBytes = size,
        };
        _ops.Add(op);
        if (kind is FileOpKind.Put or FileOpKind.Delete)
        {
            if (!_writes.TryGetValue(path, out var list))
            {
                list = [];
                _writes[path] = list;
            }

            list.Add(op);
        }

        return op;
    }

    /// <summary>The puts and deletes of <paramref name="path"/>, in issue order (a check at every acknowledgement
    /// must not walk every operation of the run).</summary>
    public IReadOnlyList<FileOp> WritesOf(string path) => _writes.GetValueOrDefault(path) ?? [];

    /// <summary>Paths with at least one acknowledged put or delete, ordered.</summary>
    public IEnumerable<string> AcknowledgedPaths() =>
        _writes.Where(kv => kv.Value.Any(o => o.Outcome == "ok")).Select(kv => kv.Key);

    /// <summary>What a read of <paramref name="path"/> may return now; null if nothing was acknowledged.</summary>
    public AllowedRead? Allowed(string path)
    {
        if (!_writes.TryGetValue(path, out var writes))
        {
            return null;
        }

        var last = writes.Where(o => o.Outcome == "ok").OrderBy(o => o.CompletedAt).ThenBy(o => o.Id).LastOrDefault();
        if (last is null)
        {
            return null;
        }

        var candidates = writes.Where(o => ReferenceEquals(o, last) || o.Outcome != "ok"
            || o.CompletedAt >= last.IssuedAt).ToList();
        var hashes = new SortedSet<string>(candidates.Where(o => o.Kind == FileOpKind.Put)
            .Select(o => o.ContentHash!), StringComparer.Ordinal);
        return new AllowedRead(hashes, candidates.Any(o => o.Kind == FileOpKind.Delete), last);
    }

    private readonly List<FileOp> _getsPending = [];
    private readonly SortedList<long, FileOp> _readsOfUnwritten = [];
    private int _opsJudged;

    /// <summary>
    /// Successful gets that returned bytes no put of their path issued before the get completed wrote (corrupt or
    /// invented bytes), in issue order. A get is judged once, when it has completed: the puts that can explain it
    /// were all issued by then, so its verdict never changes (judging every get of the run at every check made
    /// the check grow with the run).
    /// </summary>
    public IReadOnlyList<FileOp> ReadsOfUnwrittenBytes()
    {
        for (; _opsJudged < _ops.Count; _opsJudged++)
        {
            if (_ops[_opsJudged].Kind == FileOpKind.Get)
            {
                _getsPending.Add(_ops[_opsJudged]);
            }
        }

        _getsPending.RemoveAll(get =>
        {
            if (get.Outcome is null)
            {
                return false;
            }

            if (get.Outcome == "ok" && !WritesOf(get.Path).Any(p =>
                p.Kind == FileOpKind.Put && p.IssuedAt <= get.CompletedAt && p.ContentHash == get.Detail))
            {
                _readsOfUnwritten.Add(get.Id, get);
            }

            return true;
        });
        return [.. _readsOfUnwritten.Values];
    }

    /// <summary>The content hash of the latest put of <paramref name="path"/> issued so far.</summary>
    public string? LatestPutHash(string path) =>
        _writes.TryGetValue(path, out var list) ? list.LastOrDefault(o => o.Kind == FileOpKind.Put)?.ContentHash : null;
}
