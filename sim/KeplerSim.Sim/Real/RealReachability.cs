using KeplerSim.Sim.Invariants;

namespace KeplerSim.Sim.Real;

/// <summary>
/// Real mode's ground truth for the membership judges, from the driver's record of what it did, not from any node:
/// a node is up from when it answered <c>/ready</c> until the driver killed, stopped or paused it (and again once
/// resumed); a link is cut from the driver's partition to its heal; every link loses what the driver's link profile
/// (netem) loses, applied on both ends of a path. Prober views come from the probers' own member events as their
/// streams deliver them (seeded from <c>/api/members</c> at each subscription); a real node does not publish its
/// Lifeguard health score, so the judges assume the largest it can reach (the longest probe window: more excused,
/// nothing falsely blamed). Used under the run's check lock.
/// </summary>
/// <param name="awarenessMaxMultiplier">SWIM's <c>AwarenessMaxMultiplier</c> (the health score stays below it).
/// </param>
internal sealed class RealReachability(int awarenessMaxMultiplier) : IReachability
{
    private readonly SortedSet<string> _ready = new(StringComparer.Ordinal);
    private readonly SortedSet<(string From, string To)> _cuts = [];
    private readonly SortedDictionary<string, SortedDictionary<string, string>> _views = new(StringComparer.Ordinal);
    private double _lossPerHop;

    /// <summary>The driver saw <paramref name="node"/> answer <c>/ready</c>.</summary>
    public void Ready(string node) => _ready.Add(node);

    /// <summary>The driver killed or stopped <paramref name="node"/>.</summary>
    public void Down(string node) => _ready.Remove(node);

    /// <summary>The driver cut the route from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public void Cut(string from, string to) => _cuts.Add((from, to));

    /// <summary>The driver removed every cut.</summary>
    public void Heal() => _cuts.Clear();

    /// <summary>The driver shaped every node's link to lose <paramref name="loss"/> of the datagrams (0..1).</summary>
    public void ShapeLinks(double loss) => _lossPerHop = loss;

    /// <summary>What datagrams lose between two nodes: both ends' links are shaped.</summary>
    private double PathLoss => 1 - (1 - _lossPerHop) * (1 - _lossPerHop);

    /// <inheritdoc/>
    public bool Up(ICheckedNode node) => _ready.Contains(node.Name) && node.Running;

    /// <inheritdoc/>
    public bool Linked(ICheckedNode from, ICheckedNode to) =>
        !_cuts.Contains((from.Name, to.Name)) && PathLoss <= FalseDeadTracker.ReachableLossMax;

    /// <inheritdoc/>
    public ILinkSnapshot Links() => new Snapshot([.. _cuts], PathLoss);

    /// <summary>Notes a member event of <paramref name="e"/>'s observer: its view of that member now.</summary>
    public void Note(MemberEventRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.Kind is not ("alive" or "suspect" or "dead" or "left"))
        {
            return; // A refutation is the observer's own incarnation, not a view of another member.
        }

        if (!_views.TryGetValue(e.Observer, out var view))
        {
            _views[e.Observer] = view = new SortedDictionary<string, string>(StringComparer.Ordinal);
        }

        view[e.Member] = e.Kind;
    }

    /// <summary>The members <paramref name="prober"/>'s events last showed alive, with the largest health score;
    /// null before its stream showed any.</summary>
    public ProberView? ProberViewOf(string prober) => _views.TryGetValue(prober, out var view)
        ? new ProberView([.. view.Where(m => m.Value == "alive").Select(m => m.Key)],
            Math.Max(0, awarenessMaxMultiplier - 1))
        : null;

    private sealed class Snapshot(SortedSet<(string From, string To)> cuts, double loss) : ILinkSnapshot
    {
        public bool IsClean(ICheckedNode from, ICheckedNode to) => !cuts.Contains((from.Name, to.Name)) && loss == 0;
    }
}
