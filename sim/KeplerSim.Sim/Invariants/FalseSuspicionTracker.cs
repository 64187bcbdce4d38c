namespace KeplerSim.Sim.Invariants;

/// <summary>
/// <c>no_false_suspicion</c> from the host's ground truth (<see cref="IReachability"/>; the prober's view from
/// <see cref="ProberViewOf"/>): a node suspects a member only when no indirect probe
/// could have reached it. A suspicion a node raises itself (its own probe failed) is false when, for the whole probe
/// (one probe interval stretched by the prober's health score, plus one interval of margin): the prober and the
/// member ran; the prober's view named at least one relay alive, and every relay it could pick (members it saw
/// alive, the member excepted) ran, with links prober↔relay and relay↔member uncut and lossless both ways; and the
/// prober's view of those relays did not change. The direct link between the two may be cut: that is what ping-req
/// (indirect probes) are for. Anything less calm (loss, a paused relay, a fresh view) is not judged. As for
/// <see cref="FalseDeadTracker"/>, a host whose record lags widens the window back by
/// <see cref="ToleranceMicroseconds"/>.
/// </summary>
public sealed class FalseSuspicionTracker
{
    private readonly CheckedCluster _cluster;
    private readonly IReachability _truth;
    private readonly long _probeIntervalMicroseconds;
    private readonly List<(long At, Calm State)> _states = [];
    private readonly SortedDictionary<string, List<(long At, string Member)>> _viewChanges =
        new(StringComparer.Ordinal);
    private long? _dirtySince;

    /// <summary>Tracks a run.</summary>
    public FalseSuspicionTracker(CheckedCluster cluster, IReachability truth)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(truth);
        _cluster = cluster;
        _truth = truth;
        _probeIntervalMicroseconds = (cluster.Options.Swim ?? new Core.Membership.SwimOptions())
            .ProbeIntervalMicroseconds;
    }

    /// <summary>The prober's SWIM view when it raises a suspicion (null: unknown, the suspicion is not judged).
    /// </summary>
    public Func<string, ProberView?> ProberViewOf { get; init; } = _ => null;

    /// <summary>How far back before a probe window a change still excuses a suspicion (0 in the simulator).</summary>
    public long ToleranceMicroseconds { get; init; }

    /// <summary>Suspicions judged so far (false or not).</summary>
    public long Judged { get; private set; }

    /// <summary>Time has reached <paramref name="now"/>: a change a step made earlier is captured now.</summary>
    public void Advance(long now)
    {
        if (_dirtySince is { } since && now > since)
        {
            Capture(since);
            _dirtySince = null;
        }
    }

    /// <summary>The host reports a change of a node or the network at <paramref name="at"/>.</summary>
    public void OnHostChange(HostChange change, long at)
    {
        Advance(at);
        if (change != HostChange.Step)
        {
            Capture(at);
        }

        _dirtySince = at; // A stop marks the node stopped right after its crash; a step's change follows it.
    }

    /// <summary>Feeds one member event; returns the description of a false suspicion it reveals, or null.</summary>
    public string? OnMemberEvent(MemberEventRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        Advance(e.At);
        return Note(e);
    }

    private string? Note(MemberEventRecord e)
    {
        if (e.Member == e.Observer)
        {
            return null;
        }

        if (!_viewChanges.TryGetValue(e.Observer, out var changes))
        {
            _viewChanges[e.Observer] = changes = [];
        }

        changes.Add((e.At, e.Member));
        return e.Kind == "suspect" && e.RaisedByObserver ? Judge(e.Observer, e.Member, e.At) : null;
    }

    private string? Judge(string prober, string member, long now)
    {
        if (_dirtySince is { } since)
        {
            Capture(since);
            _dirtySince = null;
        }

        if (ProberViewOf(prober) is not { } view)
        {
            return null;
        }

        var from = now - _probeIntervalMicroseconds * (view.HealthScore + 2) - ToleranceMicroseconds;
        var relays = view.Alive.Where(m => m != prober && m != member).ToList();
        var start = _states.FindLastIndex(s => s.At <= from);
        if (relays.Count == 0 || start < 0 || _viewChanges[prober].Any(c => c.At >= from && c.At < now
            && relays.Contains(c.Member, StringComparer.Ordinal)))
        {
            return null;
        }

        Judged++;
        var calm = _cluster.Find(prober) is { } proberNode && _cluster.Find(member) is { } memberNode
            && relays.Select(_cluster.Find).ToList() is var relayNodes && !relayNodes.Contains(null)
            && _states.Skip(start).Where(s => s.At <= now)
                .All(s => s.State.IsCalm(proberNode, memberNode, relayNodes!));
        return !calm ? null
            : $"{prober} suspected {member} at {Scenarios.ScenarioRun.Seconds(now)} although both ran and relay(s) " +
              $"[{string.Join(",", relays)}] ran with lossless links to both since " +
              $"{Scenarios.ScenarioRun.Seconds(Math.Max(0, from))}: an indirect probe had a path";
    }

    /// <summary>
    /// Records the network and node state as of <paramref name="now"/>: which members run (by their position in the
    /// run's nodes), and the links as the host's shared snapshot (one per change of faults or partitions).
    /// Materialising every clean link of every pair at every capture cost n² entries per node start: a 400-node join
    /// held 0.7 GB of them.
    /// </summary>
    private void Capture(long now)
    {
        var up = new bool[_cluster.Nodes.Count];
        foreach (var node in _cluster.Members)
        {
            up[_cluster.IndexOf(node.Name)] = _truth.Up(node);
        }

        _states.Add((now, new Calm(up, _truth.Links(), _cluster)));
    }

    private sealed record Calm(bool[] Up, ILinkSnapshot Links, CheckedCluster Cluster)
    {
        /// <summary>Prober, member and every relay ran, with lossless uncut links relay↔prober, relay↔member.</summary>
        public bool IsCalm(ICheckedNode prober, ICheckedNode member, IReadOnlyList<ICheckedNode> relays) =>
            IsUp(prober) && IsUp(member) && relays.All(r => IsUp(r) && Links.IsClean(prober, r)
                && Links.IsClean(r, prober) && Links.IsClean(r, member) && Links.IsClean(member, r));

        private bool IsUp(ICheckedNode node) => Cluster.IndexOf(node.Name) is var i && i < Up.Length && Up[i];
    }
}
