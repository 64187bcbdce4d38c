using KeplerSim.Core.Node;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// <c>no_false_suspicion</c> from the kernel's ground truth: a node suspects a member only when no indirect probe
/// could have reached it. A suspicion a node raises itself (its own probe failed) is false when, for the whole probe
/// (one probe interval stretched by the prober's health score, plus one interval of margin): the prober and the
/// member ran; the prober's view named at least one relay alive, and every relay it could pick (members it saw
/// alive, the member excepted) ran, with links prober↔relay and relay↔member uncut and lossless both ways; and the
/// prober's view of those relays did not change. The direct link between the two may be cut: that is what ping-req
/// (indirect probes) are for. Anything less calm (loss, a paused relay, a fresh view) is not judged.
/// </summary>
public sealed class FalseSuspicionTracker
{
    private readonly CheckContext _context;
    private readonly long _probeIntervalMicroseconds;
    private readonly List<(long At, Calm State)> _states = [];
    private readonly SortedDictionary<string, List<(long At, string Member)>> _viewChanges =
        new(StringComparer.Ordinal);
    private long? _dirtySince;

    /// <summary>Tracks a run.</summary>
    public FalseSuspicionTracker(CheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _probeIntervalMicroseconds = (context.Options.Swim ?? new Core.Membership.SwimOptions())
            .ProbeIntervalMicroseconds;
    }

    /// <summary>Suspicions judged so far (false or not).</summary>
    public long Judged { get; private set; }

    /// <summary>Feeds one trace record; returns the description of a false suspicion it reveals, or null.</summary>
    public string? OnRecord(TraceRecord record)
    {
        if (_dirtySince is { } since && record.TimeMicroseconds > since)
        {
            Capture(since);
            _dirtySince = null;
        }

        switch (record.Kind)
        {
            case TraceKind.NodeCrashed or TraceKind.NodeStarted or TraceKind.NodePaused or TraceKind.NodeResumed
                or TraceKind.Partition:
                Capture(record.TimeMicroseconds);
                _dirtySince = record.TimeMicroseconds; // A stop marks the node stopped right after its crash.
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

        if (_context.Sim.FindNode(prober)?.Program is not KeplerNode { Membership: { } swim })
        {
            return null;
        }

        var from = now - _probeIntervalMicroseconds * (swim.HealthScore + 2);
        var relays = swim.Members.Where(m => m.Status == Core.Membership.MemberStatus.Alive
            && m.Id.Value != prober && m.Id.Value != member).Select(m => m.Id.Value).ToList();
        var start = _states.FindLastIndex(s => s.At <= from);
        if (relays.Count == 0 || start < 0 || _viewChanges[prober].Any(c => c.At >= from && c.At < now
            && relays.Contains(c.Member, StringComparer.Ordinal)))
        {
            return null;
        }

        Judged++;
        var calm = _context.Sim.FindNode(prober) is { } proberNode && _context.Sim.FindNode(member) is { } memberNode
            && relays.Select(_context.Sim.FindNode).ToList() is var relayNodes && !relayNodes.Contains(null)
            && _states.Skip(start).Where(s => s.At <= now)
                .All(s => s.State.IsCalm(proberNode, memberNode, relayNodes!));
        return !calm ? null
            : $"{prober} suspected {member} at {Scenarios.ScenarioRun.Seconds(now)} although both ran and relay(s) " +
              $"[{string.Join(",", relays)}] ran with lossless links to both since " +
              $"{Scenarios.ScenarioRun.Seconds(Math.Max(0, from))}: an indirect probe had a path";
    }

    /// <summary>
    /// Records the network and node state as of <paramref name="now"/>: which members run, and the network's links
    /// as a shared snapshot (one per change of faults or partitions). Materialising every clean link of every pair
    /// at every capture cost n² entries per node start: a 400-node join held 0.7 GB of them.
    /// </summary>
    private void Capture(long now)
    {
        var up = new bool[_context.Sim.Nodes.Count];
        foreach (var node in _context.Members)
        {
            up[node.Index] = node.State == SimNodeState.Running;
        }

        _states.Add((now, new Calm(up, _context.Sim.Network.Links)));
    }

    private sealed record Calm(bool[] Up, NetworkLinks Links)
    {
        /// <summary>Prober, member and every relay ran, with lossless uncut links relay↔prober, relay↔member.</summary>
        public bool IsCalm(SimNode prober, SimNode member, IReadOnlyList<SimNode> relays) =>
            IsUp(prober) && IsUp(member) && relays.All(r => IsUp(r) && Links.IsClean(prober, r)
                && Links.IsClean(r, prober) && Links.IsClean(r, member) && Links.IsClean(member, r));

        private bool IsUp(SimNode node) => node.Index < Up.Length && Up[node.Index];
    }
}
