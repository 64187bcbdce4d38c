using System.Diagnostics;
using System.Globalization;
using KeplerSim.Core.Demo;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

// Benchmarks print numbers; they are never timed tests. See docs/BENCHMARKS.md.
var which = args.Length > 0 ? args[0] : "kernel";
switch (which)
{
    case "kernel":
        KernelBenchmark.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60);
        return 0;
    case "chaos":
        // The KeplerFS chaos run is a scenario now, judged by the scenario checkers.
        Console.Error.WriteLine("the chaos run is a scenario now: " +
            "dotnet run --project sim/KeplerSim.Sim -- run scenarios/slow/chaos-swim-buggify.yaml --seed <n>");
        return 2;
    default:
        Console.Error.WriteLine($"unknown command '{which}'; known: kernel");
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
