using KeplerSim.Core.Node;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.KeplerFs;

/// <summary>Settings of a chaos run of a KeplerFS cluster.</summary>
public sealed record ChaosRunOptions
{
    /// <summary>Cluster size.</summary>
    public int Nodes { get; init; } = 5;

    /// <summary>Node settings.</summary>
    public KeplerOptions Kepler { get; init; } = new() { ChunkSizeBytes = 4096 };

    /// <summary>The workload.</summary>
    public WorkloadOptions Workload { get; init; } = new();

    /// <summary>The random fault process.</summary>
    public ChaosOptions Chaos { get; init; } = new();

    /// <summary>Network faults.</summary>
    public NetworkFaults Network { get; init; } = new();

    /// <summary>Disk faults.</summary>
    public DiskFaults Disk { get; init; } = new();

    /// <summary>Clock faults.</summary>
    public ClockFaults Clock { get; init; } = new();

    /// <summary>Probability that each buggify site is on.</summary>
    public double Buggify { get; init; }

    /// <summary>How long faults and the workload run.</summary>
    public long FaultPhaseMicroseconds { get; init; } = 30_000_000;

    /// <summary>How long the healed cluster has to converge.</summary>
    public long ConvergenceBoundMicroseconds { get; init; } = 300_000_000;
}

/// <summary>What a chaos run found.</summary>
public sealed record ChaosRunResult(
    ulong Seed,
    string TraceHash,
    long Events,
    bool Converged,
    long ConvergedAfterMicroseconds,
    IReadOnlyList<string> Problems,
    IReadOnlyDictionary<string, int> Faults,
    IReadOnlyDictionary<string, int> Outcomes,
    int Acknowledged);

/// <summary>
/// A KeplerFS cluster under a workload and random faults, then a liveness phase: every fault healed, every node
/// restarted, the cluster must converge within the bound, and then the checkers run.
/// </summary>
public static class KeplerChaosRun
{
    private const long LivenessPollMicroseconds = 100_000;

    /// <summary>Runs one seed.</summary>
    public static ChaosRunResult Run(ChaosRunOptions options, ulong seed, Stream? trace = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var sim = new Simulation(new SimulationOptions
        {
            Seed = seed,
            Network = options.Network,
            Disk = options.Disk,
            Clock = options.Clock,
            BuggifySiteProbability = options.Buggify,
            TraceJsonLines = trace,
        });
        var cluster = new KeplerSimCluster(sim, options.Nodes, options.Kepler);
        var workload = new FileWorkload(cluster, options.Workload, seed);
        var faults = new FaultInjector(sim, options.Chaos);
        sim.RunUntil(options.FaultPhaseMicroseconds);
        workload.Stop();
        faults.Stop();
        sim.RecordStep("faults stopped");
        var healedAt = sim.Now;
        bool Settled()
        {
            workload.Collect();
            return workload.InFlight == 0 && ClusterChecker.Converged(cluster);
        }

        // Checked every 100 ms of virtual time, not after every event: the check walks every node's metadata.
        var converged = sim.RunUntil(Settled, options.ConvergenceBoundMicroseconds, LivenessPollMicroseconds);
        workload.Collect();
        var problems = ClusterChecker.CheckFinal(cluster, workload);
        if (!converged)
        {
            problems.Insert(0, $"did not converge within {options.ConvergenceBoundMicroseconds / 1_000_000} s: " +
                               (ClusterChecker.WhyNotConverged(cluster) ?? $"{workload.InFlight} operations in flight"));
        }

        sim.RecordStep("checked");
        return new ChaosRunResult(seed, sim.Trace.Hash, sim.EventsExecuted, converged, sim.Now - healedAt, problems,
            faults.Counts, workload.Outcomes, workload.Acknowledged.Count);
    }
}
