using System.Diagnostics;
using KeplerSim.Core.Demo;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Cli;

/// <summary>What one kernel benchmark run measured.</summary>
/// <param name="Events">Kernel events executed.</param>
/// <param name="WallSeconds">Wall-clock seconds of the measured run.</param>
/// <param name="CpuSeconds">CPU seconds the process spent during it (all threads).</param>
/// <param name="Datagrams">Datagrams sent.</param>
/// <param name="TraceHash">The trace hash.</param>
public sealed record KernelBenchmarkResult(long Events, double WallSeconds, double CpuSeconds, long Datagrams,
    string TraceHash);

/// <summary>
/// The kernel-only benchmark: 100 nodes of the demo ping protocol pinging every 10 ms (virtual) over lossy,
/// duplicating, reordering links (docs/BENCHMARKS.md, "Simulator kernel"). Used by <c>kepler-sim bench</c> and
/// by <c>KeplerSim.Bench kernel</c>.
/// </summary>
public static class KernelBenchmark
{
    /// <summary>Nodes the benchmark runs.</summary>
    public const int NodeCount = 100;

    /// <summary>Runs a 5-virtual-second warm-up (JIT), then the measured run of <paramref name="virtualSeconds"/>.</summary>
    public static KernelBenchmarkResult Run(int virtualSeconds)
    {
        Measure(5);
        var result = Measure(virtualSeconds);
        return result.Events > 0 ? result
            : throw new InvalidOperationException("no event ran: the benchmark measured nothing");
    }

    private static KernelBenchmarkResult Measure(int virtualSeconds)
    {
        var options = new SimulationOptions
        {
            Seed = 7,
            Network = new NetworkFaults
            {
                LatencyMinMicroseconds = 100,
                LatencyMaxMicroseconds = 5_000,
                LossProbability = 0.02,
                DuplicationProbability = 0.01,
                ReorderProbability = 0.05,
            },
        };
        using var sim = new Simulation(options);
        var ids = Enumerable.Range(1, NodeCount).Select(i => new NodeId($"n{i}")).ToList();
        var ping = new PingOptions { PingIntervalMicroseconds = 10_000, UseDiskAndStreams = false };
        foreach (var id in ids)
        {
            sim.AddNode(id.Value, runtime => new PingProtocol(runtime, ids, ping));
        }

        foreach (var node in sim.Nodes)
        {
            node.Start();
        }

        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        sim.RunUntil(virtualSeconds * 1_000_000L);
        var wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        if (sim.Network.DatagramCounts.Delivered == 0)
        {
            throw new InvalidOperationException("no datagram was delivered: the benchmark measured nothing");
        }

        return new KernelBenchmarkResult(sim.EventsExecuted, wall, (process.TotalProcessorTime - cpu).TotalSeconds,
            sim.Network.DatagramCounts.Sent, sim.Trace.Hash);
    }
}
