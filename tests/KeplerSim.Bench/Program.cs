using System.Globalization;
using KeplerSim.Sim.Cli;

// Benchmarks print numbers; they are never timed tests. See docs/BENCHMARKS.md. The scenario benchmarks and
// this same kernel benchmark run together with `kepler-sim bench`.
var which = args.Length > 0 ? args[0] : "kernel";
switch (which)
{
    case "kernel":
        var seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60;
        var result = KernelBenchmark.Run(seconds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kernel: {KernelBenchmark.NodeCount} nodes, {seconds} virtual s, {result.Events:N0} events in " +
            $"{result.WallSeconds:F2} s wall ({result.CpuSeconds:F2} CPU s)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kernel: {result.Events / result.WallSeconds:N0} events/s, " +
            $"{seconds / result.WallSeconds:F1}x time compression, " +
            $"{result.Datagrams:N0} datagrams ({result.Datagrams / result.WallSeconds:N0}/s), " +
            $"trace hash {result.TraceHash}"));
        return 0;
    case "chaos":
        // The KeplerFS chaos run is a scenario now, judged by the scenario checkers.
        Console.Error.WriteLine("the chaos run is a scenario now: " +
            "dotnet run --project sim/KeplerSim.Sim -- run scenarios/slow/chaos-swim-buggify.yaml --seed <n>");
        return 2;
    default:
        Console.Error.WriteLine($"unknown command '{which}'; known: kernel (scenarios: kepler-sim bench)");
        return 2;
}
