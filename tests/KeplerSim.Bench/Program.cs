using System.Diagnostics;
using System.Globalization;
using KeplerSim.Core.Demo;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.KeplerFs;

// Benchmarks print numbers; they are never timed tests. See docs/BENCHMARKS.md.
var which = args.Length > 0 ? args[0] : "kernel";
switch (which)
{
    case "kernel":
        KernelBenchmark.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60);
        return 0;
    case "chaos":
        return ChaosCommand.Run(args.Length > 1 ? ulong.Parse(args[1], CultureInfo.InvariantCulture) : 1);
    default:
        Console.Error.WriteLine($"unknown command '{which}'; known: kernel, chaos");
        return 2;
}

internal static class KernelBenchmark
{
    /// <summary>100 nodes pinging each other every 10 ms (virtual) over lossy, duplicating, reordering links.</summary>
    public static void Run(int virtualSeconds)
    {
        Measure(5, quiet: true); // JIT warm-up
        var result = Measure(virtualSeconds, quiet: false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kernel: 100 nodes, {virtualSeconds} virtual s, {result.Events:N0} events in {result.Wall:F2} s wall"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kernel: {result.Events / result.Wall:N0} events/s, {virtualSeconds / result.Wall:F1}x time compression, " +
            $"{result.Datagrams:N0} datagrams ({result.Datagrams / result.Wall:N0}/s), trace hash {result.Hash}"));
    }

    private static (long Events, double Wall, long Datagrams, string Hash) Measure(int virtualSeconds, bool quiet)
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
        var ids = Enumerable.Range(1, 100).Select(i => new NodeId($"n{i}")).ToList();
        var ping = new PingOptions { PingIntervalMicroseconds = 10_000, UseDiskAndStreams = false };
        foreach (var id in ids)
        {
            sim.AddNode(id.Value, runtime => new PingProtocol(runtime, ids, ping));
        }

        foreach (var node in sim.Nodes)
        {
            node.Start();
        }

        var clock = Stopwatch.StartNew();
        sim.RunUntil(virtualSeconds * 1_000_000L);
        var wall = clock.Elapsed.TotalSeconds;
        if (!quiet && sim.Network.DatagramCounts.Delivered == 0)
        {
            throw new InvalidOperationException("no datagram was delivered: the benchmark measured nothing");
        }

        return (sim.EventsExecuted, wall, sim.Network.DatagramCounts.Sent, sim.Trace.Hash);
    }
}

/// <summary>
/// One KeplerFS chaos run (5 nodes, a put/get/delete workload, every fault kind) printing its seed, trace hash
/// and verdict; the cross-process determinism test runs it twice.
/// </summary>
internal static class ChaosCommand
{
    public static ChaosRunOptions Options { get; } = new()
    {
        Nodes = 5,
        Kepler = new KeplerSim.Core.Node.KeplerOptions
        {
            ChunkSizeBytes = 4096,
            ScrubChunksPerSecond = 50,
            Swim = new KeplerSim.Core.Membership.SwimOptions(),
        },
        Workload = new WorkloadOptions { OpsPerSecond = 10, Paths = 6, SizeMaxBytes = 20_000 },
        Network = new NetworkFaults { LossProbability = 0.02, DuplicationProbability = 0.01, ReorderProbability = 0.05 },
        Disk = new DiskFaults { SlowProbability = 0.01, ReadErrorProbability = 0.001 },
        Clock = new ClockFaults { SkewMaxMicroseconds = 100_000, DriftMaxPpm = 100 },
        Chaos = new ChaosOptions
        {
            CrashRatePerSecond = 0.02,
            PauseRatePerSecond = 0.02,
            PartitionRatePerSecond = 0.05,
            ClockJumpRatePerSecond = 0.02,
            CorruptionRatePerSecond = 0.02,
        },
        Buggify = 0.25,
        FaultPhaseMicroseconds = 30_000_000,
    };

    public static int Run(ulong seed)
    {
        var result = KeplerChaosRun.Run(Options, seed);
        Console.WriteLine($"acknowledged: {result.Acknowledged}");
        Console.WriteLine($"outcomes:     {string.Join(", ", result.Outcomes.Select(kv => $"{kv.Key} {kv.Value}"))}");
        Console.WriteLine($"faults:       {string.Join(", ", result.Faults.Select(kv => $"{kv.Key} {kv.Value}"))}");
        Console.WriteLine($"converged:    {result.Converged} after {result.ConvergedAfterMicroseconds / 1000} ms");
        foreach (var problem in result.Problems)
        {
            Console.WriteLine($"problem:      {problem}");
        }

        Console.WriteLine($"events:       {result.Events}");
        Console.WriteLine($"seed:         {result.Seed}");
        Console.WriteLine($"trace hash:   {result.TraceHash}");
        return result.Problems.Count == 0 ? 0 : 1;
    }
}
