namespace KeplerSim.Sim.Kernel;

/// <summary>What every link of the network is like at one moment, kept for checkers that judge the past.</summary>
public sealed partial class SimNetwork
{
    // The snapshot of the links as they are now; null after any change to faults or partitions.
    private NetworkLinks? _links;

    /// <summary>
    /// The faults and cuts of every link as they are now, as an immutable snapshot. The same object is returned
    /// until faults or partitions change, so an observer that records the network at many moments holds one copy
    /// per change, not one per moment (a 1000-node join records it at each of 1000 node starts).
    /// </summary>
    public NetworkLinks Links => _links ??= new NetworkLinks(_defaults, new(_linkFaults), [.. _blocked]);
}

/// <summary>The network's links at one moment (see <see cref="SimNetwork.Links"/>).</summary>
public sealed class NetworkLinks
{
    private readonly NetworkFaults _defaults;
    private readonly SortedDictionary<(int From, int To), NetworkFaults> _linkFaults;
    private readonly HashSet<(int From, int To)> _blocked;

    internal NetworkLinks(NetworkFaults defaults, SortedDictionary<(int From, int To), NetworkFaults> linkFaults,
        HashSet<(int From, int To)> blocked)
    {
        _defaults = defaults;
        _linkFaults = linkFaults;
        _blocked = blocked;
    }

    /// <summary>Whether traffic from <paramref name="from"/> to <paramref name="to"/> was cut.</summary>
    public bool IsBlocked(SimNode from, SimNode to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        return _blocked.Contains((from.Index, to.Index));
    }

    /// <summary>The faults of the directed link <paramref name="from"/> → <paramref name="to"/>.</summary>
    public NetworkFaults FaultsOf(SimNode from, SimNode to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        return _linkFaults.GetValueOrDefault((from.Index, to.Index)) ?? _defaults;
    }

    /// <summary>Whether the link was uncut and lost nothing.</summary>
    public bool IsClean(SimNode from, SimNode to) => !IsBlocked(from, to) && FaultsOf(from, to).LossProbability == 0;
}
