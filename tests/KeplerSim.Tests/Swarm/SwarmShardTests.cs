using System.Xml.Linq;
using KeplerSim.Sim.Cli;

namespace KeplerSim.Tests.Swarm;

/// <summary>
/// Issue 14 point 4: <c>swarm --shard K/N</c> runs a disjoint share of the (file, seed) pairs, the N shards run each
/// exactly once, results come out as JSON lines and JUnit XML, and <c>merge</c> puts them together.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwarmShardTests
{
    // Three nodes of the demo protocol for two virtual seconds: milliseconds per seed.
    private const string Passing = """
        name: tiny-ok
        duration: 2s
        cluster:
          nodes: 3
          protocol: ping
        network:
          loss: 0.1
        swarm:
          vary: [network.loss]
        """;

    // Fails every seed: no run delivers a billion datagrams.
    private const string Failing = """
        name: tiny-broken
        duration: 2s
        cluster:
          nodes: 3
          protocol: ping
        expect:
          metrics:
            datagrams.delivered: ">= 1000000000"
        """;

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 10, 4)]
    [InlineData(2, 7, 7)]
    [InlineData(5, 3, 8)] // more shards than a file has seeds
    [InlineData(1, 2, 5)] // more shards than pairs: some shards are empty
    public void Shards_are_disjoint_and_together_cover_every_pair_exactly_once(int files, int seeds, int shards)
    {
        var names = Enumerable.Range(0, files).Select(i => $"f{i}.yaml").ToList();
        var pairs = SwarmRunner.Pairs(names, 100, seeds).ToList();
        var runs = Enumerable.Range(0, shards)
            .SelectMany(k => pairs.Where((_, i) => new SwarmShard(k, shards).Owns(i)))
            .ToList();
        Assert.Equal(files * seeds, pairs.Count);
        Assert.Equal(pairs.Count, runs.Count);
        Assert.Equal(pairs.Order(), runs.Order());
    }

    [Theory]
    [InlineData("3/3", "K counts from 0")]
    [InlineData("0/0", "N must be 1..")]
    [InlineData("-1/3", "two whole numbers")]
    [InlineData("1", "two whole numbers")]
    [InlineData("a/b", "two whole numbers")]
    [InlineData("1/2/3", "two whole numbers")]
    public void Shard_arguments_that_name_no_shard_are_refused_with_a_reason(string text, string reason)
    {
        Assert.Null(SwarmShard.Parse(text, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        var (exit, output) = SimCliInProcess.Run("swarm", Repo.Scenario("fast/determinism.yaml"), "--seeds", "1",
            "--shard", text);
        Assert.NotEqual(SimCli.ExitPass, exit);
        Assert.Contains(reason, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Sharded_runs_give_the_same_outcomes_as_the_whole_swarm()
    {
        var directory = SimCliInProcess.TempDirectory();
        try
        {
            var file = Path.Combine(directory, "ok.yaml");
            File.WriteAllText(file, Passing);
            var whole = SwarmRunner.Run([file], 1, 7, jobs: 2);
            var sharded = Enumerable.Range(0, 3)
                .SelectMany(k => SwarmRunner.Run([file], 1, 7, 2, new SwarmShard(k, 3), null))
                .OrderBy(o => o.Seed).ToList();
            Assert.Equal(whole.Select(o => (o.Seed, o.TraceHash)), sharded.Select(o => (o.Seed, o.TraceHash)));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Shard_results_merge_into_one_summary_and_one_JUnit_report_with_replay_commands()
    {
        var directory = SimCliInProcess.TempDirectory();
        try
        {
            var scenarios = Directory.CreateDirectory(Path.Combine(directory, "scenarios")).FullName;
            File.WriteAllText(Path.Combine(scenarios, "broken.yaml"), Failing);
            File.WriteAllText(Path.Combine(scenarios, "ok.yaml"), Passing);
            var results = Path.Combine(directory, "results"); // Created by swarm, as on a pod's fresh volume.
            for (var k = 0; k < 2; k++)
            {
                var (exit, output) = SimCliInProcess.Run("swarm", scenarios, "--seeds", "3", "--jobs", "2",
                    "--shard", $"{k}/2", "--results", Path.Combine(results, $"shard-{k}.jsonl"),
                    "--junit", Path.Combine(results, $"shard-{k}.xml"));
                Assert.True(exit == SimCli.ExitFailed, output); // Every shard has a seed of broken.yaml.
                Assert.Contains($"shard {k}/2", output, StringComparison.Ordinal);
                Assert.Equal("3", Repo.Field(output, "swarm").Split(' ')[0]);
            }

            var junit = Path.Combine(directory, "junit.xml");
            var merged = SimCliInProcess.Run("merge", results, "--junit", junit);
            Assert.True(merged.ExitCode == SimCli.ExitFailed, merged.Output);
            Assert.Equal("6 of 6", Repo.Field(merged.Output, "runs"));
            Assert.Equal("3", Repo.Field(merged.Output, "passed"));
            Assert.Equal("3", Repo.Field(merged.Output, "failed"));
            Assert.Equal("0", Repo.Field(merged.Output, "missing"));
            Assert.Equal("0", Repo.Field(merged.Output, "diverged"));
            foreach (var seed in new[] { 1, 2, 3 })
            {
                Assert.Contains($"broken.yaml seed {seed}: metric datagrams.delivered", merged.Output,
                    StringComparison.Ordinal);
            }

            var report = XDocument.Load(junit).Root!;
            Assert.Equal("6", (string?)report.Attribute("tests"));
            Assert.Equal("3", (string?)report.Attribute("failures"));
            var failures = report.Descendants("failure").ToList();
            Assert.Equal(3, failures.Count);
            Assert.All(failures, f => Assert.Contains("replay: kepler-sim replay ", f.Value, StringComparison.Ordinal));
            Assert.All(failures, f => Assert.EndsWith("broken.yaml", (string?)f.Parent!.Attribute("classname")));
            Assert.Contains("--seed 2 --swarm", string.Concat(failures.Select(f => f.Value)), StringComparison.Ordinal);
            Assert.Equal(3, XDocument.Load(Path.Combine(results, "shard-1.xml")).Descendants("testcase").Count());

            AssertMissingAndDivergentShardsAreReported(results);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void AssertMissingAndDivergentShardsAreReported(string results)
    {
        // Shard 1 run again, and this time one seed gave another trace hash: nondeterminism, named.
        var again = Path.Combine(results, "shard-1-again.jsonl");
        var lines = File.ReadAllLines(Path.Combine(results, "shard-1.jsonl"));
        var run = lines.First(l => l.Contains("\"type\":\"run\"", StringComparison.Ordinal));
        var hash = System.Text.Json.Nodes.JsonNode.Parse(run)!["traceHash"]!.GetValue<string>();
        File.WriteAllLines(again, lines.Select(l => l == run ? l.Replace(hash, "0123456789abcdef",
            StringComparison.Ordinal) : l));
        var diverged = SimCliInProcess.Run("merge", results);
        Assert.True(diverged.ExitCode == SimCli.ExitFailed, diverged.Output);
        Assert.Equal("1", Repo.Field(diverged.Output, "diverged"));
        Assert.Contains($"{hash} (", diverged.Output, StringComparison.Ordinal);
        Assert.Contains("0123456789abcdef (", diverged.Output, StringComparison.Ordinal);
        Assert.Contains("kepler-sim check-determinism ", diverged.Output, StringComparison.Ordinal);
        File.Delete(again);

        // Shard 0 never reported: its three runs are missing.
        File.Delete(Path.Combine(results, "shard-0.jsonl"));
        var missing = SimCliInProcess.Run("merge", results);
        Assert.True(missing.ExitCode == SimCli.ExitFailed, missing.Output);
        Assert.Equal("3 of 6", Repo.Field(missing.Output, "runs"));
        Assert.Equal("3 (no result file for shard(s) 0)", Repo.Field(missing.Output, "missing"));

        // A shard killed halfway: no end line, so not finished, even though no run of it is missing.
        var shard1 = Path.Combine(results, "shard-1.jsonl");
        File.WriteAllLines(shard1, File.ReadAllLines(shard1)[..^1]);
        var unfinished = SimCliInProcess.Run("merge", shard1);
        Assert.True(unfinished.ExitCode == SimCli.ExitFailed, unfinished.Output);
        Assert.Contains("unfinished:", unfinished.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Merge_refuses_files_that_are_not_shard_results_of_one_swarm()
    {
        var directory = SimCliInProcess.TempDirectory();
        try
        {
            var header = "{\"type\":\"swarm\",\"shard\":0,\"shards\":2,\"firstSeed\":1,\"seeds\":2," +
                "\"files\":[\"a.yaml\"],\"skipped\":[]}";
            var run = "{\"type\":\"run\",\"file\":\"a.yaml\",\"seed\":SEED,\"passed\":true,\"traceHash\":\"00\"," +
                "\"failure\":null,\"replay\":\"r\",\"wallSeconds\":0}";
            var end = """{"type":"end","runs":1,"passed":1,"failed":0,"wallSeconds":1,"cpuSeconds":1}""";
            var cases = new (string Text, string Reason)[]
            {
                (run.Replace("SEED", "2", StringComparison.Ordinal), "the first line must be the swarm line"),
                (header + "\n" + run.Replace("SEED", "2", StringComparison.Ordinal), "not a run of shard 0/2"),
                (header + "\n" + run.Replace("SEED", "9", StringComparison.Ordinal), "not a run of shard 0/2"),
                (header + "\nnot json", ":2: not a JSON object"),
                (header + "\n" + end + "\n" + end, ":3: a line after the end line"),
                (header.Replace("\"files\":[\"a.yaml\"],", "", StringComparison.Ordinal), "not a valid SwarmHeader"),
                ("", "empty"),
            };
            foreach (var (text, reason) in cases)
            {
                var path = Path.Combine(directory, "bad.jsonl");
                File.WriteAllText(path, text);
                var (exit, output) = SimCliInProcess.Run("merge", path);
                Assert.True(exit == SimCli.ExitBadInput, $"{text}\n{output}");
                Assert.Contains(reason, output, StringComparison.Ordinal);
            }

            var shard0 = Path.Combine(directory, "0.jsonl");
            var other = Path.Combine(directory, "1.jsonl");
            File.WriteAllText(shard0, header + "\n" + run.Replace("SEED", "1", StringComparison.Ordinal) + "\n" + end);
            File.WriteAllText(other, header.Replace("\"shard\":0", "\"shard\":1", StringComparison.Ordinal)
                .Replace("\"seeds\":2", "\"seeds\":3", StringComparison.Ordinal));
            var mixed = SimCliInProcess.Run("merge", shard0, other);
            Assert.True(mixed.ExitCode == SimCli.ExitBadInput, mixed.Output);
            Assert.Contains("is a shard of another swarm", mixed.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
