namespace KeplerSim.Sim.Invariants;

/// <summary>
/// Who ran and which links carried datagrams, as the membership judges (<see cref="FalseDeadTracker"/>,
/// <see cref="FalseSuspicionTracker"/>) need it: the simulator answers from its kernel's ground truth
/// (<see cref="SimReachability"/>), real mode from the driver's record of the faults it performed (processes killed,
/// stopped and paused, routes cut and healed, the link profile). Asked right after the host reports a change.
/// </summary>
public interface IReachability
{
    /// <summary>Whether <paramref name="node"/> runs now (neither down nor paused; real mode: up once ready).</summary>
    bool Up(ICheckedNode node);

    /// <summary>Whether datagrams from <paramref name="from"/> reach <paramref name="to"/> now: the link is not cut
    /// and loses at most <see cref="FalseDeadTracker.ReachableLossMax"/> of them.</summary>
    bool Linked(ICheckedNode from, ICheckedNode to);

    /// <summary>The links as they are now, kept by the caller (one snapshot per change).</summary>
    ILinkSnapshot Links();
}

/// <summary>The links at one instant.</summary>
public interface ILinkSnapshot
{
    /// <summary>Whether the link from <paramref name="from"/> to <paramref name="to"/> is uncut and lossless.</summary>
    bool IsClean(ICheckedNode from, ICheckedNode to);
}

/// <summary>What a prober's SWIM view held when it raised a suspicion (for <see cref="FalseSuspicionTracker"/>).
/// </summary>
/// <param name="Alive">The members it saw alive, in its view's order.</param>
/// <param name="HealthScore">Its Lifeguard health score (each point stretches its probe interval).</param>
public sealed record ProberView(IReadOnlyList<string> Alive, int HealthScore);

/// <summary>A change of the world the membership judges watch, reported by the host as it happens.</summary>
public enum HostChange
{
    /// <summary>A node went down (crash, kill, stop).</summary>
    NodeCrashed,

    /// <summary>A node came up (simulator: started; real mode: ready).</summary>
    NodeStarted,

    /// <summary>A node was paused.</summary>
    NodePaused,

    /// <summary>A paused node resumed.</summary>
    NodeResumed,

    /// <summary>Links were cut or healed.</summary>
    Partition,

    /// <summary>A step runs; the change it makes (network, stop) follows at the same instant.</summary>
    Step,
}
