namespace KeplerSim.Sim.Invariants;

/// <summary>
/// <c>no_false_dead</c> from the host's ground truth (<see cref="IReachability"/>: the simulator's kernel, or real
/// mode's record of the faults it performed). A node is <em>healthy</em> while it is running (not down,
/// not paused), is a member (started, not stopped) and is reachable from a majority of the members: counting
/// itself, at least members/2+1 of them are running and have an uncut link to it both ways with at most
/// <see cref="ReachableLossMax"/> datagram loss each way. A declaration of death is false when the declarer
/// (whose own suspicion timed out) and the member it declared dead were both healthy for the whole suspicion
/// window: from one probe interval before the declarer first suspected the member to the declaration. Two
/// majorities share a node, so an indirect probe (ping-req) had a path all along. Above 10 % loss a link does not
/// count as reachable: deaths there are not judged. A host whose record of changes lags the protocol's (real mode:
/// a signal takes effect, a route is installed, an event arrives a little later than the driver notes) widens the
/// window back by <see cref="ToleranceMicroseconds"/>: a fault that close before the window still excuses it.
/// </summary>
public sealed class FalseDeadTracker
{
    /// <summary>Most datagram loss on a link that still counts as reachable.</summary>
    public const double ReachableLossMax = 0.10;

    private readonly CheckedCluster _cluster;
    private readonly IReachability _truth;
    private readonly long _probeIntervalMicroseconds;
    private readonly long _fallbackWindowMicroseconds;
    private readonly SortedDictionary<string, long> _unhealthySince = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, List<(long From, long To)>> _unhealthy = new(StringComparer.Ordinal);
    private readonly SortedDictionary<(string Declarer, string Member), long> _suspectedSince = [];
    private readonly List<string> _falseDeaths = [];
    private long? _dirtySince;

    /// <summary>Tracks a run; every node counts as unhealthy until the first change looks.</summary>
    public FalseDeadTracker(CheckedCluster cluster, IReachability truth)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(truth);
        _cluster = cluster;
        _truth = truth;
        var swim = cluster.Options.Swim ?? new Core.Membership.SwimOptions();
        _probeIntervalMicroseconds = swim.ProbeIntervalMicroseconds;
        _fallbackWindowMicroseconds = swim.ProbeIntervalMicroseconds * (1 + swim.SuspicionMultiplier);
        foreach (var node in cluster.Nodes)
        {
            _unhealthySince[node.Name] = 0;
        }
    }

    /// <summary>How far back before a suspicion window a change still excuses a death (0 in the simulator, whose
    /// changes and events share one clock).</summary>
    public long ToleranceMicroseconds { get; init; }

    /// <summary>The false deaths so far, described.</summary>
    public IReadOnlyList<string> FalseDeaths => _falseDeaths;

    /// <summary>Declarations of death judged so far (false or not).</summary>
    public long Judged { get; private set; }

    /// <summary>Time has reached <paramref name="now"/> (any trace record, event or change): a change a step made
    /// at an earlier instant is looked at now that it is complete.</summary>
    public void Advance(long now)
    {
        if (_dirtySince is { } since && now > since)
        {
            Recompute(since);
            _dirtySince = null;
        }
    }

    /// <summary>The host reports a change of <paramref name="node"/> or the network at <paramref name="at"/>.</summary>
    public void OnHostChange(HostChange change, string node, long at)
    {
        Advance(at);
        switch (change)
        {
            case HostChange.NodeCrashed:
                foreach (var key in _suspectedSince.Keys.Where(k => k.Declarer == node).ToList())
                {
                    _suspectedSince.Remove(key);
                }

                Recompute(at);
                _dirtySince = at; // A stop marks the node stopped right after its crash.
                return;
            case HostChange.Step:
                _dirtySince = at; // The step's own change (network, stop) follows its record.
                return;
            default:
                Recompute(at);
                return;
        }
    }

    /// <summary>Feeds one member event; returns the description of a false death it reveals, or null.</summary>
    public string? OnMemberEvent(MemberEventRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        Advance(e.At);
        return Note(e);
    }

    private string? Note(MemberEventRecord e)
    {
        var key = (e.Observer, e.Member);
        if (e.Member == e.Observer)
        {
            return null;
        }

        switch (e.Kind)
        {
            case "suspect":
                _suspectedSince.TryAdd(key, e.At);
                return null;
            case "dead" when e.RaisedByObserver:
                var since = _suspectedSince.GetValueOrDefault(key, e.At - _fallbackWindowMicroseconds);
                _suspectedSince.Remove(key);
                return Judge(e.Observer, e.Member, since - _probeIntervalMicroseconds - ToleranceMicroseconds, e.At);
            case "alive" or "left" or "dead":
                _suspectedSince.Remove(key);
                return null;
            default:
                return null;
        }
    }

    private string? Judge(string declarer, string member, long from, long to)
    {
        if (_dirtySince is { } since)
        {
            Recompute(since);
            _dirtySince = null;
        }

        Judged++;
        if (!HealthyThroughout(declarer, from, to) || !HealthyThroughout(member, from, to))
        {
            return null;
        }

        var text = $"{declarer} declared {member} dead at {Seconds(to)} although both ran and were reachable " +
            $"from a majority since {Seconds(Math.Max(0, from))}";
        _falseDeaths.Add(text);
        return text;
    }

    private bool HealthyThroughout(string node, long from, long to)
    {
        if (_unhealthySince.TryGetValue(node, out var open) && open <= to)
        {
            return false;
        }

        return !_unhealthy.TryGetValue(node, out var spans) || !spans.Any(s => s.From <= to && s.To > from);
    }

    /// <summary>Re-evaluates every node's health as of <paramref name="now"/>.</summary>
    private void Recompute(long now)
    {
        var members = _cluster.Members;
        foreach (var node in _cluster.Nodes)
        {
            var healthy = IsHealthy(node, members);
            var wasUnhealthy = _unhealthySince.TryGetValue(node.Name, out var since);
            if (healthy && wasUnhealthy)
            {
                _unhealthySince.Remove(node.Name);
                if (!_unhealthy.TryGetValue(node.Name, out var spans))
                {
                    _unhealthy[node.Name] = spans = [];
                }

                spans.Add((since, now));
            }
            else if (!healthy && !wasUnhealthy)
            {
                _unhealthySince[node.Name] = now;
            }
        }
    }

    private bool IsHealthy(ICheckedNode node, IReadOnlyList<ICheckedNode> members)
    {
        if (!_truth.Up(node) || !members.Contains(node))
        {
            return false;
        }

        var reachable = members.Count(m => m == node || (_truth.Up(m) && _truth.Linked(node, m)
            && _truth.Linked(m, node)));
        return reachable >= members.Count / 2 + 1;
    }

    private static string Seconds(long microseconds) => Scenarios.ScenarioRun.Seconds(microseconds);
}
