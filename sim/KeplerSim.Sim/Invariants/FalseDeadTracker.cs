using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// <c>no_false_dead</c> from the kernel's ground truth. A node is <em>healthy</em> while it is running (not down,
/// not paused), is a member (started, not stopped) and is reachable from a majority of the members: counting
/// itself, at least members/2+1 of them are running and have an uncut link to it both ways with at most
/// <see cref="ReachableLossMax"/> datagram loss each way. A declaration of death is false when the declarer
/// (whose own suspicion timed out) and the member it declared dead were both healthy for the whole suspicion
/// window: from one probe interval before the declarer first suspected the member to the declaration. Two
/// majorities share a node, so an indirect probe (ping-req) had a path all along. Above 10 % loss a link does not
/// count as reachable: deaths there are not judged.
/// </summary>
public sealed class FalseDeadTracker
{
    /// <summary>Most datagram loss on a link that still counts as reachable.</summary>
    public const double ReachableLossMax = 0.10;

    private readonly CheckContext _context;
    private readonly long _probeIntervalMicroseconds;
    private readonly long _fallbackWindowMicroseconds;
    private readonly SortedDictionary<string, long> _unhealthySince = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, List<(long From, long To)>> _unhealthy = new(StringComparer.Ordinal);
    private readonly SortedDictionary<(string Declarer, string Member), long> _suspectedSince = [];
    private readonly List<string> _falseDeaths = [];
    private long? _dirtySince;

    /// <summary>Tracks a run; every node counts as unhealthy until the first record looks.</summary>
    public FalseDeadTracker(CheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        var swim = context.Options.Swim ?? new Core.Membership.SwimOptions();
        _probeIntervalMicroseconds = swim.ProbeIntervalMicroseconds;
        _fallbackWindowMicroseconds = swim.ProbeIntervalMicroseconds * (1 + swim.SuspicionMultiplier);
        foreach (var node in context.Sim.Nodes)
        {
            _unhealthySince[node.Name] = 0;
        }
    }

    /// <summary>The false deaths so far, described.</summary>
    public IReadOnlyList<string> FalseDeaths => _falseDeaths;

    /// <summary>Declarations of death judged so far (false or not).</summary>
    public long Judged { get; private set; }

    /// <summary>Feeds one trace record; returns the description of a false death it reveals, or null.</summary>
    public string? OnRecord(TraceRecord record)
    {
        if (_dirtySince is { } since && record.TimeMicroseconds > since)
        {
            Recompute(since);
            _dirtySince = null;
        }

        switch (record.Kind)
        {
            case TraceKind.NodeCrashed:
                foreach (var key in _suspectedSince.Keys.Where(k => k.Declarer == record.Node).ToList())
                {
                    _suspectedSince.Remove(key);
                }

                Recompute(record.TimeMicroseconds);
                _dirtySince = record.TimeMicroseconds; // A stop marks the node stopped right after its crash.
                return null;
            case TraceKind.NodeStarted or TraceKind.NodePaused or TraceKind.NodeResumed or TraceKind.Partition:
                Recompute(record.TimeMicroseconds);
                return null;
            case TraceKind.Step:
                _dirtySince = record.TimeMicroseconds; // The step's own change (network, stop) follows its record.
                return null;
            case TraceKind.Protocol when MemberEventRecord.Parse(record) is { } memberEvent:
                return OnMemberEvent(memberEvent);
            default:
                return null;
        }
    }

    private string? OnMemberEvent(MemberEventRecord e)
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
                return Judge(e.Observer, e.Member, since - _probeIntervalMicroseconds, e.At);
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
        var members = _context.Members;
        foreach (var node in _context.Sim.Nodes)
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

    private bool IsHealthy(SimNode node, IReadOnlyList<SimNode> members)
    {
        if (node.State != SimNodeState.Running || !members.Contains(node))
        {
            return false;
        }

        var reachable = members.Count(m => m == node || (m.State == SimNodeState.Running && Linked(node, m)
            && Linked(m, node)));
        return reachable >= members.Count / 2 + 1;
    }

    private bool Linked(SimNode from, SimNode to) => !_context.Sim.Network.IsBlocked(from, to)
        && _context.Sim.Network.FaultsOf(from, to).LossProbability <= ReachableLossMax;

    private static string Seconds(long microseconds) => Scenarios.ScenarioRun.Seconds(microseconds);
}
