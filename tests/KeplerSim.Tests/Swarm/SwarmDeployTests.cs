using System.Text.RegularExpressions;
using KeplerSim.Sim.Cli;
using YamlDotNet.RepresentationModel;

namespace KeplerSim.Tests.Swarm;

/// <summary>
/// The Kubernetes manifests under deploy/k8s (no cluster here: this checks what would otherwise break only on one).
/// The Job is Indexed, its shard count agrees with its completions, the pod's command is one kepler-sim accepts
/// for every index, and the pods, the results pod and the volume claim name one another consistently.
/// </summary>
[Trait("Category", "Fast")]
public sealed partial class SwarmDeployTests
{
    private static readonly string K8s = Path.Combine(Repo.Root, "deploy", "k8s");

    [Fact]
    public void The_indexed_job_runs_shard_K_of_N_in_pod_K_and_writes_where_the_results_pod_reads()
    {
        var job = Load("swarm-job.yaml");
        Assert.Equal("Job", Text(job, "kind"));
        var spec = Map(job, "spec");
        Assert.Equal("Indexed", Text(spec, "completionMode"));
        var pod = Map(Map(spec, "template"), "spec");
        Assert.Equal("Never", Text(pod, "restartPolicy")); // podFailurePolicy requires it.
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Children.Single();
        var env = ((YamlSequenceNode)container["env"]).Children.Cast<YamlMappingNode>()
            .ToDictionary(e => Text(e, "name"), e => Text(e, "value"), StringComparer.Ordinal);
        Assert.Equal(Text(spec, "completions"), env["SHARDS"]);

        var script = ((YamlSequenceNode)container["args"]).Children.Cast<YamlScalarNode>().Single().Value!;
        var shards = int.Parse(env["SHARDS"], System.Globalization.CultureInfo.InvariantCulture);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var index = 0; index < shards; index++)
        {
            var args = SwarmArguments(script, env, index);
            var parse = SimCli.Build().Parse(args);
            Assert.True(parse.Errors.Count == 0, string.Join("; ", parse.Errors.Select(e => e.Message)));
            Assert.Equal($"{index}/{shards}", parse.GetValue<string?>("--shard"));
            Assert.True(seen.Add(parse.GetValue<FileInfo?>("--results")!.FullName), "two shards share a file");
            Assert.StartsWith("/results/", parse.GetValue<FileInfo?>("--results")!.FullName, StringComparison.Ordinal);
        }

        var mount = ((YamlSequenceNode)container["volumeMounts"]).Children.Cast<YamlMappingNode>().Single();
        Assert.Equal("/results", Text(mount, "mountPath"));
        var claim = Text(Map((YamlMappingNode)((YamlSequenceNode)pod["volumes"]).Children.Single(),
            "persistentVolumeClaim"), "claimName");
        Assert.Equal(Text(Map(Load("results-pvc.yaml"), "metadata"), "name"), claim);

        var reader = Map(Load("results-pod.yaml"), "spec");
        var readerContainer = (YamlMappingNode)((YamlSequenceNode)reader["containers"]).Children.Single();
        Assert.Equal(Text(container, "image"), Text(readerContainer, "image"));
        Assert.Contains(claim, File.ReadAllText(Path.Combine(K8s, "results-pod.yaml")), StringComparison.Ordinal);
    }

    /// <summary>The kepler-sim arguments pod <paramref name="index"/> runs: the shell's variables expanded.</summary>
    private static string[] SwarmArguments(string script, IReadOnlyDictionary<string, string> env, int index)
    {
        var vars = new Dictionary<string, string>(env, StringComparer.Ordinal)
        {
            ["JOB_COMPLETION_INDEX"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var assignment = AssignmentPattern().Match(script);
        Assert.True(assignment.Success, "the script sets R first");
        vars["R"] = Expand(assignment.Groups[1].Value, vars);
        var command = script.Split(';').Select(s => s.Trim())
            .Single(s => s.StartsWith("dotnet ", StringComparison.Ordinal));
        var words = WordPattern().Matches(command).Select(m => Expand(m.Value.Trim('"'), vars)).ToList();
        Assert.Equal("/opt/kepler-sim/kepler-sim.dll", words[1]);
        return [.. words.Skip(2)];
    }

    private static string Expand(string text, IReadOnlyDictionary<string, string> vars) =>
        VariablePattern().Replace(text, m => vars[m.Groups[1].Value]);

    private static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        using var reader = File.OpenText(Path.Combine(K8s, file));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node[key];

    private static string Text(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value!;

    [GeneratedRegex("^R=\"([^\"]*)\";")]
    private static partial Regex AssignmentPattern();

    [GeneratedRegex("\"[^\"]*\"|\\S+")]
    private static partial Regex WordPattern();

    [GeneratedRegex("\\$([A-Z_]+)")]
    private static partial Regex VariablePattern();
}
