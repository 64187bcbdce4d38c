using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Cli;

/// <summary>The <c>diff-trace</c> and <c>check-determinism</c> commands: when determinism breaks, say where.</summary>
public static partial class SimCli
{
    private static Command BuildDiffTrace()
    {
        var a = new Argument<FileInfo>("a") { Description = "A trace (run/replay --trace)" };
        var b = new Argument<FileInfo>("b") { Description = "Another trace of the same file and seed" };
        var diff = new Command("diff-trace", "Compare two traces record by record; print the first divergent event " +
            "with its virtual time, node and both versions; exit 0 identical, 1 different") { a, b };
        diff.SetAction(parse =>
        {
            var left = parse.GetRequiredValue(a).ToString();
            var right = parse.GetRequiredValue(b).ToString();
            try
            {
                var divergence = TraceDiff.CompareFiles(left, right, out var agreed);
                TraceDiff.Print(parse.InvocationConfiguration.Output, divergence, agreed, left, right);
                return divergence is null ? ExitPass : ExitFailed;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException
                or ArgumentException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: not a readable trace: {e.Message}");
                return ExitBadInput;
            }
        });
        return diff;
    }

    private static Command BuildCheckDeterminism()
    {
        var file = new Argument<FileInfo>("scenario") { Description = "Scenario YAML file" };
        var seed = new Option<ulong?>("--seed", "-s") { Description = "Root seed (default: the file's)" };
        var swarm = new Option<bool>("--swarm") { Description = "Apply the file's swarm randomisation for the seed" };
        var keep = new Option<DirectoryInfo?>("--keep") { Description = "Keep both traces in DIR" };
        var plant = new Option<string?>("--plant-nondeterminism")
        {
            Description = "Tests only: NODE@TIME, one extra random draw in run B", Hidden = true,
        };
        var check = new Command("check-determinism", "Run one seed twice, in a separate process alone and in this " +
            "process beside another seed (as under --jobs 2); compare the traces record by record; exit 0 when " +
            "they are identical, 1 at the first divergent event") { file, seed, swarm, keep, plant };
        check.SetAction(parse =>
        {
            try
            {
                return CheckDeterminism(parse, parse.GetRequiredValue(file).ToString(), parse.GetValue(seed),
                    parse.GetValue(swarm), parse.GetValue(keep),
                    parse.GetValue(plant) is { } p ? PlantedNondeterminism.Parse(p) : null);
            }
            catch (ScenarioException e)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return ExitBadInput;
            }
        });
        return check;
    }

    private static int CheckDeterminism(ParseResult parse, string path, ulong? seedOption, bool swarm,
        DirectoryInfo? keep, PlantedNondeterminism? plant)
    {
        var output = parse.InvocationConfiguration.Output;
        var scenario = ScenarioLoader.LoadFile(path);
        var seed = seedOption ?? scenario.Seed;
        if (ProtocolRegistry.Find(scenario.Cluster.Protocol) is null)
        {
            throw new ScenarioException($"{path}: protocol {scenario.Cluster.Protocol} is not available yet");
        }

        if (plant is not null && !scenario.Cluster.NodeNames().Contains(plant.Node, StringComparer.Ordinal))
        {
            throw new ScenarioException($"plant {plant}: the scenario has no node '{plant.Node}'");
        }

        var directory = keep?.FullName ?? Directory.CreateTempSubdirectory("kepler-determinism-").FullName;
        Directory.CreateDirectory(directory);
        var traceA = Path.Combine(directory, $"{scenario.Name}-{seed}.a.trace.jsonl");
        var traceB = Path.Combine(directory, $"{scenario.Name}-{seed}.b.trace.jsonl");

        // A: a separate process that runs nothing else. B: this process, beside a companion seed on another thread.
        using var processA = StartSelf(["replay", path, "--seed", seed.ToString(CultureInfo.InvariantCulture),
            "--trace", traceA, .. swarm ? ["--swarm"] : Array.Empty<string>()]);
        var outputA = processA.StandardOutput.ReadToEndAsync();
        var errorA = processA.StandardError.ReadToEndAsync();
        RunResult? resultB = null;
        Parallel.Invoke(
            () =>
            {
                using var stream = File.Create(traceB);
                resultB = ScenarioRunner.Run(scenario, seed, stream, swarm ? SwarmKnobs.Apply(scenario, seed) : null,
                    nondeterminism: plant);
            },
            () => ScenarioRunner.Run(scenario, seed + 1, null, swarm ? SwarmKnobs.Apply(scenario, seed + 1) : null));
        processA.WaitForExit();
        if (processA.ExitCode == ExitBadInput || !File.Exists(traceA))
        {
            parse.InvocationConfiguration.Error.WriteLine($"error: run A failed to start: {errorA.Result}");
            return ExitBadInput;
        }

        const string hashField = "trace hash:";
        var hashA = outputA.Result.Split('\n').FirstOrDefault(l => l.StartsWith(hashField, StringComparison.Ordinal))
            ?[hashField.Length..].Trim() ?? "?";
        output.WriteLine($"check:        {path} seed {seed}{(swarm ? " (swarm)" : "")}");
        output.WriteLine($"run A:        a separate process, alone: trace hash {hashA}");
        output.WriteLine($"run B:        this process beside seed {seed + 1} on another thread: trace hash " +
            $"{resultB!.TraceHash}{(plant is null ? "" : $" (planted: an extra random draw at {plant})")}");
        var divergence = TraceDiff.CompareFiles(traceA, traceB, out var agreed);
        TraceDiff.Print(output, divergence, agreed, "run A", "run B");
        if (divergence is null && keep is null)
        {
            Directory.Delete(directory, recursive: true);
        }
        else
        {
            output.WriteLine($"kept:         {traceA} {traceB}");
        }

        output.WriteLine($"result:       {(divergence is null ? "DETERMINISTIC" : "NOT DETERMINISTIC")}");
        return divergence is null ? ExitPass : ExitFailed;
    }

    /// <summary>Starts this program (kepler-sim) as a child process with its output redirected.</summary>
    private static Process StartSelf(IReadOnlyList<string> args)
    {
        var assembly = typeof(SimCli).Assembly.Location;
        var viaHost = assembly.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(viaHost ? DotnetHost() : Environment.ProcessPath!)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (viaHost)
        {
            start.ArgumentList.Add(assembly);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start kepler-sim");
    }

    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }

        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }
}
