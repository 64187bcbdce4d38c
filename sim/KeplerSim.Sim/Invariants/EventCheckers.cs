using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// Runs safety checks at the trace records of the events that can break them, instead of waiting for the next
/// periodic check (by then an ack-count bug may have healed): a write acknowledged (<c>write.ack</c>:
/// <see cref="InvariantCatalog.CopiesDurableAtAck"/>), a manifest applied (<c>manifest.applied</c>: fencing), a
/// chunk recorded (<c>chunk.replicated</c> on its target, <c>scrub.found</c> repaired, <c>chunk.read_repaired</c>:
/// the recorded copy is durable and intact), a member declared dead (<c>member.dead</c>:
/// <see cref="InvariantCatalog.NoFalseDead"/>) or suspected (<c>member.suspect</c>:
/// <see cref="InvariantCatalog.NoFalseSuspicion"/>), scrub condemning a copy (<c>scrub.found</c>:
/// <see cref="InvariantCatalog.NoIntactCopyCondemned"/>). Reads only the disks and the metadata of the nodes
/// (<see cref="ICheckedNode"/>), the host's ground truth of reachability (<see cref="IReachability"/>) and, for the
/// owners an acknowledgement counts, the acceptor's ring members as it changes them. One set of rules for both
/// hosts: the simulator feeds its trace (<see cref="OnRecord"/>: each event at its virtual instant), real mode each
/// node's <c>/api/events</c> stream and the faults it performs (<see cref="OnEvent"/>,
/// <see cref="OnCompletedChange"/>: each event as it arrives, the state read then).
/// </summary>
public sealed class EventCheckers
{
    private readonly CheckedCluster _context;
    private readonly IReadOnlySet<string> _declared;
    private readonly Action<string, string> _violated;
    // Per node, when it first published member.alive of each other member; the names are pooled (one copy per
    // member, not one per event: 1,000,000 node × member pairs at 1000 nodes), as SWIM pools them in core.
    private readonly Dictionary<string, Dictionary<string, Moment>> _knownBy = new(StringComparer.Ordinal);
    private readonly Core.Runtime.StringPool _memberNames = new();
    private readonly SortedDictionary<string, List<(Moment At, IReadOnlyList<string> View)>> _views =
        new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _viewsKeptAfterForget = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, List<(Moment At, int Factor)>> _factors = new(StringComparer.Ordinal);
    private readonly List<AckedWrite> _acked = [];
    private readonly SortedDictionary<string, List<(long From, long To)>> _paused = new(StringComparer.Ordinal);
    // no_garbage_churn: when a version of each path was last recorded anywhere, the paths whose versions listed
    // each chunk, the versions whose chunks were read, each node's last collection of each chunk, the chunks a
    // hinted copy's hand-over brought back to a node that had collected them, and how far the nodes' clocks were
    // moved (looked up by key only, never enumerated: no order reaches a verdict).
    private readonly Dictionary<string, long> _pathRecorded = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _pathsListing = new(StringComparer.Ordinal);
    private readonly HashSet<(string Path, string Version)> _versionsRead = [];
    private readonly Dictionary<(string Node, string Chunk), (long Last, int Times)> _collected = [];
    private readonly HashSet<(string Node, string Chunk)> _handedBack = [];
    private readonly Dictionary<string, long> _clockOffsetBound = new(StringComparer.Ordinal);

    /// <summary>Checks the declared invariants of <paramref name="declared"/> over <paramref name="cluster"/>'s
    /// nodes, judging membership against <paramref name="truth"/> (with the prober views of
    /// <paramref name="proberViewOf"/> and a host's clock <paramref name="toleranceMicroseconds"/>: see
    /// <see cref="FalseDeadTracker.ToleranceMicroseconds"/>); each violation goes to <paramref name="violated"/>
    /// (invariant name, what was seen).</summary>
    public EventCheckers(CheckedCluster cluster, IReachability truth, IReadOnlySet<string> declared,
        Action<string, string> violated, Func<string, ProberView?>? proberViewOf = null,
        long toleranceMicroseconds = 0)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        _context = cluster;
        _declared = declared;
        _violated = violated;
        FalseDead = new FalseDeadTracker(cluster, truth) { ToleranceMicroseconds = toleranceMicroseconds };
        FalseSuspicion = new FalseSuspicionTracker(cluster, truth)
        {
            ProberViewOf = proberViewOf ?? (_ => null), ToleranceMicroseconds = toleranceMicroseconds,
        };
    }

    /// <summary>The false-suspicion judge (its findings also go to the violation callback).</summary>
    public FalseSuspicionTracker FalseSuspicion { get; }

    /// <summary>The false-death judge (its findings also go to the violation callback).</summary>
    public FalseDeadTracker FalseDead { get; }

    /// <summary>A node's view history is pruned (see <c>ForgetViewsBeforeWrites</c>) when it reaches at least this
    /// many views.</summary>
    public const int ViewsKeptMin = 64;

    /// <summary>
    /// Protocol events seen so far (<see cref="OnEvent"/>): the order of events that share a virtual instant. A
    /// harness that knows when a node began a request notes this count then (<see cref="Scenarios.FileOp.Begun"/>),
    /// so what the node learnt in the same microsecond, before or after, is told apart.
    /// </summary>
    public long Seen { get; private set; }

    /// <summary>Acknowledgements checked by <see cref="InvariantCatalog.CopiesDurableAtAck"/>.</summary>
    public long AcksChecked { get; private set; }

    /// <summary>The simulator's feed: one trace record, a node's or the network's change or a protocol event at its
    /// virtual instant (any other record only advances time).</summary>
    public void OnRecord(TraceRecord record)
    {
        HostChange? change = record.Kind switch
        {
            TraceKind.NodeCrashed => HostChange.NodeCrashed,
            TraceKind.NodeStarted => HostChange.NodeStarted,
            TraceKind.NodePaused => HostChange.NodePaused,
            TraceKind.NodeResumed => HostChange.NodeResumed,
            TraceKind.Partition => HostChange.Partition,
            TraceKind.Step => HostChange.Step,
            _ => null,
        };
        if (change is { } c)
        {
            OnHostChange(c, record.Node, record.TimeMicroseconds);
        }
        else if (record.Kind == TraceKind.Protocol && record.Detail is { } detail)
        {
            OnEvent(CheckedEvent.FromTrace(record.Node, detail, record.TimeMicroseconds));
        }
        else
        {
            if (record.Kind == TraceKind.ClockJump)
            {
                OnClockChange(record.Node, record.Detail == "set" ? null : record.A,
                    record.Detail == "set" ? record.A : null);
            }

            Advance(record.TimeMicroseconds);
        }
    }

    /// <summary>The largest clock skew a node may start with (the run's clock profile): a clock set later may move
    /// it by that much more than the new skew says.</summary>
    public long InitialSkewMaxMicroseconds { get; init; }

    /// <summary>How far, in all, the nodes' wall clocks were moved (jumps, skews set): a node keeps history for a
    /// gc grace by its own wall clock, so a clock set back keeps it that much longer
    /// (<see cref="InvariantCatalog.NoGarbageChurn"/> widens its window by it).</summary>
    public long ClockMovedMicroseconds { get; private set; }

    /// <summary>The host moved <paramref name="node"/>'s wall clock: by <paramref name="jump"/>, or to the skew
    /// <paramref name="skew"/> outright.</summary>
    public void OnClockChange(string node, long? jump, long? skew)
    {
        ArgumentNullException.ThrowIfNull(node);
        // How far the node's clock may be off now: the profile's start skew, then each jump, or the skew set.
        var bound = _clockOffsetBound.GetValueOrDefault(node, InitialSkewMaxMicroseconds);
        if (jump is { } by)
        {
            ClockMovedMicroseconds += Math.Abs(by);
            bound += Math.Abs(by);
        }

        if (skew is { } to)
        {
            ClockMovedMicroseconds += Math.Abs(to) + bound;
            bound = Math.Abs(to);
        }

        _clockOffsetBound[node] = bound;
    }

    /// <summary>The host reports that <paramref name="node"/> (or the network, or a step) changed at
    /// <paramref name="at"/>, right after the change.</summary>
    public void OnHostChange(HostChange change, string node, long at)
    {
        if (_declared.Contains(InvariantCatalog.NoFalseDead))
        {
            FalseDead.OnHostChange(change, node, at);
        }

        if (_declared.Contains(InvariantCatalog.NoFalseSuspicion))
        {
            FalseSuspicion.OnHostChange(change, at);
        }

        NotePause(change, node, at);
    }

    /// <summary>
    /// The host reports a change it has completed (real mode: the driver killed, paused, cut, then says so): the
    /// judges look at the world as it is now and label it <paramref name="at"/>. A simulator's trace record comes
    /// before the change it announces, which the judges look at with the next record instead; looked at only when
    /// a later event arrived, a real kill at 40 s and restart at 60 s read as "healthy since 40 s".
    /// </summary>
    public void OnCompletedChange(HostChange change, string node, long at)
    {
        OnHostChange(change, node, at);
        Advance(at + 1);
    }

    /// <summary>Time has reached <paramref name="now"/> without a change or an event.</summary>
    public void Advance(long now)
    {
        if (_declared.Contains(InvariantCatalog.NoFalseDead))
        {
            FalseDead.Advance(now);
        }

        if (_declared.Contains(InvariantCatalog.NoFalseSuspicion))
        {
            FalseSuspicion.Advance(now);
        }
    }

    /// <summary>Feeds one protocol event; the checks it triggers read the nodes' state now.</summary>
    public void OnEvent(CheckedEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        Seen++;
        var member = e.Kind.StartsWith("member.", StringComparison.Ordinal) ? MemberEventRecord.Of(e) : null;
        if (_declared.Contains(InvariantCatalog.NoFalseDead)
            && (member is null ? Advanced(FalseDead.Advance, e.At) : FalseDead.OnMemberEvent(member)) is { } death)
        {
            _violated(InvariantCatalog.NoFalseDead, death);
        }

        if (_declared.Contains(InvariantCatalog.NoFalseSuspicion)
            && (member is null ? Advanced(FalseSuspicion.Advance, e.At) : FalseSuspicion.OnMemberEvent(member))
                is { } suspicion)
        {
            _violated(InvariantCatalog.NoFalseSuspicion, suspicion);
        }

        if (_context.Find(e.Node) is { } node)
        {
            OnNodeEvent(e, node);
        }
    }

    private static string? Advanced(Action<long> advance, long now)
    {
        advance(now);
        return null;
    }

    private void OnNodeEvent(CheckedEvent e, ICheckedNode node)
    {
        switch (e.Kind)
        {
            case "write.ack" when _declared.Contains(InvariantCatalog.CopiesDurableAtAck)
                || _declared.Contains(InvariantCatalog.OrphansKeepAckedCopies):
                if (WriteAck.Of(e) is { } ack)
                {
                    OnAck(node, ack, e.At);
                }

                break;
            case "chunk.orphan_collected" when _declared.Contains(InvariantCatalog.OrphansKeepAckedCopies)
                && e.Field("ChunkId") is { Length: 64 } orphan:
                OrphansCollected++;
                CheckAckedCopies(node, orphan);
                break;
            case "ring.changed" when _context.MembershipView?.Invoke(node) is { } view:
                if (!_views.TryGetValue(node.Name, out var views))
                {
                    _views[node.Name] = views = [];
                }

                views.Add((Now(e), view));
                ForgetViewsBeforeWrites(node, views, e.At);
                break;
            case "scrub.found" when _declared.Contains(InvariantCatalog.NoIntactCopyCondemned)
                && e.Field("Status") == "Corrupt" && e.Field("ChunkId") is { Length: 64 } condemned
                && !_context.KnownCorrupt.Contains((node.Name, condemned)):
                _violated(InvariantCatalog.NoIntactCopyCondemned, $"{node.Name}'s scrub condemned its copy of " +
                    $"{condemned[..12]} as corrupt, but no fault ever hit that file (its bytes matched the id)");
                ReportRecorded(e, node);
                break;
            default:
                OnStateEvent(e, node);
                break;
        }
    }

    private void OnStateEvent(CheckedEvent e, ICheckedNode node)
    {
        switch (e.Kind)
        {
            case "replication.factor" when int.TryParse(e.Field("ReplicationFactor"),
                System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
                out var factor):
                if (!_factors.TryGetValue(node.Name, out var factors))
                {
                    _factors[node.Name] = factors = [];
                }

                factors.Add((Now(e), factor));
                break;
            case "member.alive" when e.Field("Member") is { } member && member != node.Name:
                if (!_knownBy.TryGetValue(node.Name, out var known))
                {
                    _knownBy[node.Name] = known = new Dictionary<string, Moment>(StringComparer.Ordinal);
                }

                if (!known.ContainsKey(member))
                {
                    known[_memberNames.Intern(member)] = Now(e);
                }
                break;
            case "manifest.applied" when _declared.Contains(InvariantCatalog.VersionsNeverRegress)
                || _declared.Contains(InvariantCatalog.NoGarbageChurn):
                if (e.Field("Path") is not { } path)
                {
                    break;
                }

                if (_declared.Contains(InvariantCatalog.VersionsNeverRegress))
                {
                    Report(InvariantCatalog.VersionsNeverRegress,
                        InvariantChecks.VersionNeverRegresses(_context, node, path));
                }

                if (_declared.Contains(InvariantCatalog.NoGarbageChurn))
                {
                    NoteVersion(node, path, e);
                }

                break;
            case "chunk.collected" when _declared.Contains(InvariantCatalog.NoGarbageChurn)
                && e.Field("ChunkId") is { Length: 64 } collected:
                CheckChurn(node, collected, e.At);
                break;
            case "chunk.replicated" or "scrub.found" or "chunk.read_repaired":
                ReportRecorded(e, node);
                if (e.Kind == "chunk.replicated" && _declared.Contains(InvariantCatalog.NoGarbageChurn))
                {
                    NoteHandover(node, e);
                }

                break;
        }
    }

    /// <summary>Remembers an acknowledged write (for orphan collections later) and judges
    /// <see cref="InvariantCatalog.CopiesDurableAtAck"/> now.</summary>
    private void OnAck(ICheckedNode node, WriteAck ack, long at)
    {
        var start = WriteStart(node, ack.Path, at);
        var knownMembers = KnownTo(node, start);
        var ownerViews = OwnerViews(node, start);
        var during = FactorsDuring(node, start);
        _acked.Add(new AckedWrite(node.Name, ack, knownMembers, ownerViews, during,
            node.VersionChunks(ack.Path, ack.Version) ?? []));
        if (_declared.Contains(InvariantCatalog.CopiesDurableAtAck))
        {
            AcksChecked++;
            Report(InvariantCatalog.CopiesDurableAtAck, InvariantChecks.CopiesDurableAtAck(_context, node,
                ack, knownMembers, ownerViews, during));
            Report(InvariantCatalog.CopiesDurableAtAck,
                InvariantChecks.ManifestDurableAtAck(_context, node, ack, knownMembers, during.AtStart));
        }
    }

    /// <summary><see cref="InvariantCatalog.ReplicasDurableAndVerified"/> for a chunk just recorded.</summary>
    private void ReportRecorded(CheckedEvent e, ICheckedNode node)
    {
        if (!_declared.Contains(InvariantCatalog.ReplicasDurableAndVerified))
        {
            return;
        }

        var target = e.Kind == "chunk.replicated" ? _context.Find(e.Field("Target") ?? "") : node;
        if (e.Field("ChunkId") is { Length: 64 } id && target is not null
            && (e.Kind != "scrub.found" || e.Field("Repaired") == "True"))
        {
            Report(InvariantCatalog.ReplicasDurableAndVerified,
                InvariantChecks.RecordedChunkDurable(_context, target, id));
        }
    }

    /// <summary>Garbage collections (<c>chunk.collected</c>) judged by <see cref="InvariantCatalog.NoGarbageChurn"/>.
    /// </summary>
    public long GarbageCollections { get; private set; }

    /// <summary>
    /// A node recorded a version of <paramref name="path"/> (<c>manifest.applied</c>: its own write's or a peer's,
    /// a winner, a conflict, history or a tombstone): the path was in use now. The first time a version is seen
    /// with its chunks readable, its chunks are noted as listed by the path (one metadata query per version, not
    /// per node that applies it; a tombstone lists none).
    /// </summary>
    private void NoteVersion(ICheckedNode node, string path, CheckedEvent e)
    {
        _pathRecorded[path] = e.At;
        if (e.Field("IsTombstone") == "True" || e.Field("Version") is not { } text
            || _versionsRead.Contains((path, text)) || ClusterInspector.ParseVersion(text) is not { } version
            || node.VersionChunks(path, version) is not { } chunks)
        {
            return;
        }

        _versionsRead.Add((path, text));
        foreach (var chunk in chunks)
        {
            if (!_pathsListing.TryGetValue(chunk, out var paths))
            {
                _pathsListing[chunk] = paths = [];
            }

            if (!paths.Contains(path, StringComparer.Ordinal))
            {
                paths.Add(path);
            }
        }
    }

    /// <summary>
    /// <paramref name="sender"/> delivered a chunk (<c>chunk.replicated</c>) to a node that had collected it: if the
    /// sender's copy is not an owner's (a hinted copy, or none left to read), that was a hinted copy's hand-over,
    /// which the protocol makes whatever the copy holds (IGarbageRule.IsOwnedGarbage: a copy whose manifest never
    /// reached its holder looks the same as garbage), so the target's next collection of it is no churn. Read only
    /// for a target that collected the chunk before: the common delivery costs a dictionary lookup.
    /// </summary>
    private void NoteHandover(ICheckedNode sender, CheckedEvent e)
    {
        if (e.Field("Target") is { } target && e.Field("ChunkId") is { Length: 64 } chunkId
            && _collected.ContainsKey((target, chunkId)) && sender.HoldsAsOwner(chunkId) != true)
        {
            _handedBack.Add((target, chunkId));
        }
    }

    /// <summary>
    /// <see cref="InvariantCatalog.NoGarbageChurn"/> when <paramref name="collector"/>'s garbage collector deleted
    /// <paramref name="chunkId"/> at <paramref name="at"/>. Some node may still keep a chunk (and deliver it to an
    /// owner that collected it) only while a version listing it is a winner or conflict there, or history it
    /// recorded less than a gc grace ago by its own clock: so no later than the last time any node recorded a
    /// version of a file that listed it (its own, or the next one that superseded it) plus one gc grace, one gc
    /// interval and every clock move of the run (a clock set back keeps history longer). A collection there is
    /// published only once the file is gone, so a second collection means the chunk came back; if the collection
    /// before it was already past that time, it came back as garbage nothing kept: churn. An owner checks at the
    /// delivery of a queued repair too, not only when its scan queues it (IGarbageRule.IsOwnedGarbage): until then a
    /// repair queued while the chunk was kept and delivered after its grace brought it back once, and this check
    /// allowed one return (chaos fixed case 43, CsCheck_Seed=a0EpWlaM9Qn7). What may still bring garbage back is a
    /// hinted copy's hand-over (<see cref="NoteHandover"/>): a node holding a copy it does not own offers it to the
    /// owners whatever it holds (a failed write's chunk on a writer that is no owner, handed to an owner just after
    /// that owner collected it: chaos fixed case 214, CsCheck_Seed=8dc7_WdRxvi7). A chunk no version ever listed (an
    /// upload that never got a manifest) has no such time.
    /// </summary>
    private void CheckChurn(ICheckedNode collector, string chunkId, long at)
    {
        GarbageCollections++;
        var key = (collector.Name, chunkId);
        var (last, times) = _collected.GetValueOrDefault(key, (-1, 0));
        _collected[key] = (at, times + 1);
        if (times == 0 || _handedBack.Remove(key))
        {
            return;
        }

        var options = _context.Options;
        var window = options.GcGraceMicroseconds + options.GcIntervalMicroseconds + ClockMovedMicroseconds;
        var paths = _pathsListing.GetValueOrDefault(chunkId) ?? [];
        var lastUse = paths.Select(p => _pathRecorded.GetValueOrDefault(p, -1)).DefaultIfEmpty(-1).Max();
        if (paths.Count > 0 && lastUse >= last - window)
        {
            return;
        }

        var listed = paths.Count == 0 ? "no file version ever listed it"
            : $"versions of [{string.Join(",", paths.Order(StringComparer.Ordinal))}] listing it were last " +
              $"recorded at {Seconds(lastUse)}";
        _violated(InvariantCatalog.NoGarbageChurn,
            $"{collector.Name} collected garbage {chunkId[..12]} again at {Seconds(at)} ({times + 1} times there, " +
            $"the one before at {Seconds(last)}): it came back after {Seconds(last)}, not as a hinted copy's " +
            $"hand-over, when nothing could keep it any more ({listed}, more than a gc grace + interval " +
            $"({Seconds(window - ClockMovedMicroseconds)}) + clock moves ({Seconds(ClockMovedMicroseconds)}) before)");
    }

    private static string Seconds(long microseconds) => Scenarios.ScenarioRun.Seconds(microseconds);

    /// <summary>Orphan collections judged by <see cref="InvariantCatalog.OrphansKeepAckedCopies"/>.</summary>
    public long OrphansCollected { get; private set; }

    /// <summary>
    /// <see cref="InvariantCatalog.OrphansKeepAckedCopies"/> right after <paramref name="collector"/> deleted its
    /// copy of <paramref name="chunkId"/> as an orphan: every acknowledged write holding that chunk, whose version
    /// is still the winner on its acceptor (a superseded one may lose its chunks to gc), still has the durable
    /// intact owner copies its acknowledgement promised (the same count as <c>copies_durable_at_ack</c>, now).
    /// </summary>
    private void CheckAckedCopies(ICheckedNode collector, string chunkId)
    {
        foreach (var acked in _acked.Where(a => a.Chunks.Contains(chunkId, StringComparer.Ordinal)))
        {
            if (_context.Find(acked.Acceptor) is not { } acceptor
                || acceptor.WinnerOf(acked.Ack.Path) != acked.Ack.Version)
            {
                continue;
            }

            if (InvariantChecks.CopiesDurableAtAck(_context, acceptor, acked.Ack, acked.KnownMembers, acked.Views,
                    acked.Factors) is { } shortOf)
            {
                _violated(InvariantCatalog.OrphansKeepAckedCopies,
                    $"{collector.Name} deleted its copy of {chunkId[..12]} as an orphan; since then: {shortOf}");
            }
        }
    }

    /// <summary>When the write <paramref name="acceptor"/> acknowledges began: the start of the earliest put of
    /// <paramref name="path"/> on its current process that has not completed (else now); a put a crash left open
    /// never completes, and stood as the start of every later put of the path there (fewer members, older views:
    /// a lenient judge). The simulator notes when the node's loop took
    /// each request (<see cref="Scenarios.FileOp.Begun"/>: the instant and the events seen by then), since a paused
    /// node's queue runs at its resume in the same microsecond as what it learns then; real mode knows only the
    /// issue (<see cref="Began"/>). A put not begun yet is not the one acknowledged.</summary>
    internal Moment WriteStart(ICheckedNode acceptor, string path, long now)
    {
        Moment? earliest = null;
        foreach (var op in _context.Ledger.WritesOf(path))
        {
            if (op.Kind != Scenarios.FileOpKind.Put || op.Node != acceptor.Name || op.CompletedAt is not null
                || op.Epoch != acceptor.Epoch)
            {
                continue; // Not an open put of this path on this process (one its crash left open never ends).
            }

            var start = op.Begun ?? (_context.NotesBegins ? null
                : new Moment(Began(acceptor.Name, op.IssuedAt), Moment.Unordered));
            if (start is { } s && (earliest is not { } e || s.CompareTo(e) < 0))
            {
                earliest = s;
            }
        }

        return earliest ?? new Moment(now, Seen);
    }

    /// <summary>
    /// When a request issued to <paramref name="node"/> at <paramref name="issuedAt"/> began: then, or, if the node
    /// was paused then, when it resumed (its loop takes the request only then, after every request queued before
    /// it). Chaos seed f2KNwmPBsFv2: an operator's factor change and a put, both issued to a paused node, ran in that
    /// order at its resume, and the put was judged by the factor of its issue time.
    /// </summary>
    private long Began(string node, long issuedAt) =>
        _paused.GetValueOrDefault(node)?.LastOrDefault(p => p.From <= issuedAt && issuedAt < p.To) is { To: > 0 } pause
            ? pause.To
            : issuedAt;

    /// <summary>Records the intervals each node was paused (an open one ends at <see cref="long.MaxValue"/>).</summary>
    private void NotePause(HostChange change, string node, long at)
    {
        if (change is not (HostChange.NodePaused or HostChange.NodeResumed or HostChange.NodeCrashed))
        {
            return;
        }

        if (!_paused.TryGetValue(node, out var pauses))
        {
            _paused[node] = pauses = [];
        }

        if (pauses.Count > 0 && pauses[^1].To == long.MaxValue)
        {
            pauses[^1] = (pauses[^1].From, at);
        }

        if (change == HostChange.NodePaused)
        {
            pauses.Add((at, long.MaxValue));
        }
    }

    /// <summary>
    /// Drops the views of <paramref name="node"/> no acknowledgement can ask for: those replaced before the earliest
    /// put still open on its current process was issued (one a crash left open would keep every view for ever; a
    /// write's start is never before its issue; a put issued later starts later still). Done when the history has doubled since the last time, so the ledger is read O(log changes) times
    /// per node: a 1000-node join makes ~1000 ring changes on every node, and every view kept holds its own path
    /// through the view's tree.
    /// </summary>
    private void ForgetViewsBeforeWrites(ICheckedNode node, List<(Moment At, IReadOnlyList<string> View)> views,
        long now)
    {
        var threshold = _viewsKeptAfterForget.GetValueOrDefault(node.Name, ViewsKeptMin / 2) * 2;
        if (views.Count < Math.Max(threshold, ViewsKeptMin))
        {
            return;
        }

        var cutoff = _context.Ledger.Ops.Where(o => o.Kind == Scenarios.FileOpKind.Put && o.Node == node.Name
            && o.CompletedAt is null && o.Epoch == node.Epoch).Select(o => o.IssuedAt).DefaultIfEmpty(now).Min();
        var inForce = views.FindLastIndex(v => v.At.At <= cutoff);
        if (inForce > 0)
        {
            views.RemoveRange(0, inForce); // The view in force at the cutoff stays: it is the one "before" a start.
        }

        _viewsKeptAfterForget[node.Name] = views.Count;
    }

    /// <summary>
    /// The ring member sets <paramref name="acceptor"/> placed chunks over during a write that began at
    /// <paramref name="start"/>: the one in force then, every later one, and the current one. A copy counts towards
    /// the acknowledgement on a node that owns the chunk in any of them (the ring may change during a write); null
    /// when the acceptor's view is unknown (then any node counts).
    /// </summary>
    private IReadOnlyList<IReadOnlyList<string>>? OwnerViews(ICheckedNode acceptor, Moment start)
    {
        if (_context.MembershipView?.Invoke(acceptor) is not { } current)
        {
            return null;
        }

        var history = _views.GetValueOrDefault(acceptor.Name) ?? [];
        var before = history.LastOrDefault(v => start.Saw(v.At)).View;
        return history.Where(v => !start.Saw(v.At)).Select(v => v.View).Append(current)
            .Concat(before is null ? history.Take(1).Select(v => v.View) : [before]).ToList();
    }

    /// <summary>
    /// The replication factor <paramref name="acceptor"/> held when a write began at <paramref name="start"/> (N is
    /// fixed then: a change mid-write does not alter what the write waits for), as its <c>replication.factor</c>
    /// events say (none yet: the scenario's), and the largest it held from then on: a copy on a node that owned the
    /// chunk under any of them counts, as a ring change mid-write lets any of its views count.
    /// </summary>
    private InvariantChecks.WriteFactors FactorsDuring(ICheckedNode acceptor, Moment start)
    {
        var configured = Math.Min(_context.Options.ReplicationFactor, Core.Ring.RingOptions.ReplicationFactorMax);
        var history = _factors.GetValueOrDefault(acceptor.Name) ?? [];
        var atStart = history.LastOrDefault(f => start.Saw(f.At)) is { Factor: > 0 } last ? last.Factor : configured;
        var most = history.Where(f => !start.Saw(f.At)).Select(f => f.Factor).Append(atStart).Max();
        return new InvariantChecks.WriteFactors(atStart, most);
    }

    /// <summary>
    /// The members the durability contract counts for a write <paramref name="acceptor"/> acknowledges: with a
    /// static member list, every node started and not stopped; with SWIM, those of them the acceptor had learnt of
    /// (a <c>member.alive</c> it published) when the write began (<paramref name="start"/>: N is fixed then, a
    /// member learnt of mid-write does not raise it), and itself. Knowledge only grows: a member declared dead
    /// still counts (it may come back), so a node cut off from its peers is held to the full N; only a node that
    /// joined after the acceptor last heard of anyone does not count yet.
    /// </summary>
    private int KnownTo(ICheckedNode acceptor, Moment start)
    {
        var members = _context.Members;
        if (_context.Options.Swim is null)
        {
            return members.Count;
        }

        var known = _knownBy.GetValueOrDefault(acceptor.Name);
        var heard = members.Count(m => m != acceptor && known?.TryGetValue(m.Name, out var at) == true
            && start.Saw(at));
        // A node told of seeds is in a cluster of more than itself before it hears from anyone, and must not count
        // copies over itself alone: a node partitioned from its seeds at birth acknowledged durability=all with one
        // copy, and this check, counting only the members it had heard of, agreed with it
        // (scenarios/regressions/all-acked-before-join.yaml).
        var told = heard == 0 && _context.SeedsOf?.Invoke(acceptor.Name) is { Count: > 0 } ? 1 : 0;
        return 1 + Math.Max(heard, told);
    }

    /// <summary>The moment of the event being handled: its instant and its place among the events seen.</summary>
    private Moment Now(CheckedEvent e) => new(e.At, Seen);

    private void Report(string name, string? violation)
    {
        if (violation is not null)
        {
            _violated(name, violation);
        }
    }
}

/// <summary>An acknowledged write as <see cref="EventCheckers"/> saw it at its acknowledgement.</summary>
internal sealed record AckedWrite(string Acceptor, WriteAck Ack, int KnownMembers,
    IReadOnlyList<IReadOnlyList<string>>? Views, InvariantChecks.WriteFactors Factors, IReadOnlyList<string> Chunks);

/// <summary>
/// When something happened as the event checkers order it: the instant, and the count of events seen by then
/// (<see cref="EventCheckers.Seen"/>), which orders what shares a microsecond; <see cref="Unordered"/> when only the
/// instant is known (real mode's request starts), which then counts everything of that instant as before it.
/// </summary>
internal readonly record struct Moment(long At, long Order) : IComparable<Moment>
{
    /// <summary>The order of a moment known only by its instant.</summary>
    public const long Unordered = long.MaxValue;

    /// <summary>Whether <paramref name="earlier"/> (an event's moment) came at or before this one: by order when
    /// both are ordered, else by instant.</summary>
    public bool Saw(Moment earlier) => Order != Unordered && earlier.Order != Unordered
        ? earlier.Order <= Order
        : earlier.At <= At;

    /// <inheritdoc />
    public int CompareTo(Moment other) => At != other.At ? At.CompareTo(other.At) : Order.CompareTo(other.Order);
}
