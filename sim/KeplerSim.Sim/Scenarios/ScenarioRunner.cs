using KeplerSim.Core.Demo;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>What a run produced.</summary>
public sealed record RunResult(
    string Scenario,
    ulong Seed,
    string TraceHash,
    long TraceRecords,
    long EventsExecuted,
    long VirtualMicroseconds,
    double WallSeconds,
    IReadOnlyDictionary<string, int> FaultCounts);

/// <summary>Runs a scenario in the simulator.</summary>
public static class ScenarioRunner
{
    /// <summary>Runs <paramref name="scenario"/> with <paramref name="seed"/>, tracing to the optional stream.</summary>
    public static RunResult Run(Scenario scenario, ulong seed, Stream? traceJsonLines = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var sim = new Simulation(new SimulationOptions
        {
            Seed = seed,
            Network = scenario.Network.ToFaults(),
            Disk = scenario.Disk.ToFaults(),
            Clock = scenario.Clock.ToFaults(),
            TraceJsonLines = traceJsonLines,
        });
        var names = scenario.Cluster.NodeNames();
        var ids = names.Select(n => new NodeId(n)).ToList();
        foreach (var name in names)
        {
            sim.AddNode(name, runtime => CreateProgram(scenario, runtime, ids));
        }

        foreach (var node in sim.Nodes)
        {
            node.Start();
        }

        var chaos = new FaultInjector(sim, scenario.Chaos.ToOptions());
        sim.RunUntil(scenario.Duration.Microseconds);
        chaos.Stop();
        sim.RecordStep("end");
        return new RunResult(scenario.Name, seed, sim.Trace.Hash, sim.Trace.Count, sim.EventsExecuted, sim.Now,
            started.Elapsed.TotalSeconds, chaos.Counts);
    }

    private static INodeProgram CreateProgram(Scenario scenario, NodeRuntime runtime, IReadOnlyList<NodeId> ids) =>
        scenario.Cluster.Protocol switch
        {
            ProtocolKind.Ping => new PingProtocol(runtime, ids, new PingOptions()),
            _ => throw new ScenarioException($"unknown protocol {scenario.Cluster.Protocol}"),
        };
}
