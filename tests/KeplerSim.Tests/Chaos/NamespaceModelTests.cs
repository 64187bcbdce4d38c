using CsCheck;
using KeplerSim.Core.Node;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tests.Node;
using Xunit.Abstractions;

namespace KeplerSim.Tests.Chaos;

/// <summary>
/// The cluster under model-based test: three KeplerFS nodes (N = 3, so every node holds everything) on unskewed
/// clocks, driven one operation at a time; each operation runs to completion and then lets the cluster settle,
/// and what the cluster answered is logged for comparison with the model.
/// </summary>
public sealed class ClusterUnderTest
{
    private const long SettleMicroseconds = 60_000_000;
    private const long PollMicroseconds = 50_000;
    private const long OperationGapMicroseconds = 1_000;

    private readonly KeplerCluster _cluster = KeplerCluster.Create(ModelPaths.Nodes, seed: 9, new KeplerOptions
    {
        ChunkSizeBytes = 1024, AntiEntropyIntervalMicroseconds = 300_000, SurplusGraceMicroseconds = 0,
        WriteTimeoutMicroseconds = 2_000_000, RetryBaseMicroseconds = 50_000, RetryMaxMicroseconds = 500_000,
    });

    private int? _side;
    private int _puts;

    /// <summary>What the cluster answered, one line per operation.</summary>
    public List<string> Log { get; } = [];

    /// <summary>Stores the next version (its size says which) with durability all, or fast in a split.</summary>
    public void Put(int node, int path)
    {
        var data = KeplerCluster.Bytes(ModelPaths.SizeOf(++_puts), _puts);
        var durability = _side is null ? Durability.All : Durability.Fast;
        Log.Add($"put {ModelPaths.Name(path)} on n{node + 1}: " + Outcome(_cluster.PutAsync(node, ModelPaths.Name(path),
            data, durability)));
        Settle();
    }

    /// <summary>Deletes the path.</summary>
    public void Delete(int node, int path)
    {
        var kepler = _cluster.Kepler(node);
        Log.Add($"delete {ModelPaths.Name(path)} on n{node + 1}: " + Outcome(_cluster.Nodes[node].Spawn(_ =>
            kepler.DeleteAsync(ModelPaths.Name(path), _side is null ? Durability.All : Durability.Fast))));
        Settle();
    }

    /// <summary>Reads the path: the size of what came back names the version.</summary>
    public void Get(int node, int path)
    {
        var kepler = _cluster.Kepler(node);
        var read = _cluster.Nodes[node].Spawn(async _ =>
        {
            using var buffer = new MemoryStream();
            await kepler.GetAsync(ModelPaths.Name(path), buffer);
            return ModelPaths.VersionOf(buffer.Length).ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        Log.Add($"get {ModelPaths.Name(path)} on n{node + 1}: " + Outcome(read));
    }

    /// <summary>The path's winner and conflict versions as the node lists them.</summary>
    public void Versions(int node, int path)
    {
        var kepler = _cluster.Kepler(node);
        var versions = _cluster.Nodes[node].Spawn(async _ =>
            ModelPaths.Describe(await kepler.VersionsAsync(ModelPaths.Name(path))));
        Log.Add($"versions {ModelPaths.Name(path)} on n{node + 1}: " + Outcome(versions));
    }

    /// <summary>Lists every live path.</summary>
    public void List(int node)
    {
        var kepler = _cluster.Kepler(node);
        var list = _cluster.Nodes[node].Spawn(async _ =>
            string.Join(",", (await kepler.ListAsync("")).Files.Select(f => f.Path)));
        Log.Add($"list on n{node + 1}: " + Outcome(list));
    }

    /// <summary>Cuts node <paramref name="side"/> off from the other two (if no split is in force).</summary>
    public void Split(int side)
    {
        Log.Add($"split n{side + 1}");
        if (_side is not null)
        {
            return;
        }

        _side = side;
        var alone = _cluster.Nodes[side];
        _cluster.Sim.Network.Partition([alone], _cluster.Nodes.Where(n => n != alone).ToList());
    }

    /// <summary>Heals the split and waits until every node names the same winners and queues are empty.</summary>
    public void Heal()
    {
        Log.Add("heal");
        _side = null;
        _cluster.Sim.Network.Heal();
        // The model expects every write after the heal to succeed: under the durability contract an `all` write
        // is refused until the healed node is live again in the writer's view (SWIM needs a few rounds for that).
        _cluster.AwaitViews(_cluster.Running, "the split node to be back in every view");
        Settle();
    }

    /// <summary>Releases the simulation.</summary>
    public void Dispose() => _cluster.Dispose();

    private string Outcome<T>(Task<T> task)
    {
        if (!_cluster.Sim.RunUntil(() => task.IsCompleted, SettleMicroseconds))
        {
            return "no answer";
        }

        // Operations are a millisecond apart: two writes on either side of a split never share a clock reading,
        // so the later one has the higher token, as the model assumes (a tie is broken by node id).
        _cluster.Sim.RunFor(OperationGapMicroseconds);

        return task.Exception?.GetBaseException() switch
        {
            null => task.Result is FileVersionInfo ? "ok" : "ok " + task.Result,
            FileNotFoundInClusterException => "not_found",
            var e => "error " + e.GetType().Name + " " + e.Message,
        };
    }

    /// <summary>Lets replication and anti-entropy finish: within each side of a split, every node holds the same
    /// versions (winners, conflicts and history) and, when healed, queues are empty.</summary>
    private void Settle()
    {
        var context = new CheckContext(_cluster.Sim, new KeplerOptions(), new FileLedger());
        bool Settled()
        {
            var groups = _side is { } side
                ? new[] { new[] { side }, Enumerable.Range(0, ModelPaths.Nodes).Where(i => i != side).ToArray() }
                : [Enumerable.Range(0, ModelPaths.Nodes).ToArray()];
            return groups.All(g => g.Select(i => Winners(_cluster.Nodes[i])).Distinct().Count() == 1)
                && (_side is not null || InvariantChecks.Check(InvariantCatalog.QueuesEmpty, context) is null);
        }

        Assert.True(_cluster.Sim.RunUntil(Settled, SettleMicroseconds, PollMicroseconds),
            "the cluster did not settle within 60 s of virtual time: " + string.Join(" | ", Log));
    }

    private static string Winners(KeplerSim.Sim.Kernel.SimNode node) =>
        string.Join(";", ClusterInspector.AllVersions(node)?.Select(w => $"{w.Path}={w.Version}") ?? ["busy"]);
}

/// <summary>The model's vocabulary: three nodes, three paths, and content sizes that name versions.</summary>
public static class ModelPaths
{
    /// <summary>Cluster size.</summary>
    public const int Nodes = 3;

    private const int SizeBase = 100;
    private const int SizeStep = 37;

    /// <summary>Path of index <paramref name="path"/>.</summary>
    public static string Name(int path) => "m/" + (char)('a' + path);

    /// <summary>Bytes of version <paramref name="version"/>.</summary>
    public static int SizeOf(int version) => SizeBase + version * SizeStep;

    /// <summary>The version a size names.</summary>
    public static long VersionOf(long size) => (size - SizeBase) / SizeStep;

    /// <summary>Winner first, then conflict versions sorted: <c>3 [1,2]</c>; a tombstone is <c>-</c>.</summary>
    public static string Describe(IReadOnlyList<FileVersionInfo> versions) =>
        versions.Count == 0 ? "none" : string.Join(",", versions.Where(v => v.IsWinner).Select(Name)) + " ["
            + string.Join(",", versions.Where(v => !v.IsWinner).Select(Name).Order(StringComparer.Ordinal)) + "]";

    private static string Name(FileVersionInfo v) =>
        v.IsTombstone ? "-" : VersionOf(v.SizeBytes).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The model: path → versions, each with the versions it superseded and where it is visible. A write supersedes
/// what its node sees as current; after a split heals, the current versions are those no visible version
/// superseded: the winner is the newest (clocks are unskewed and operations sequential, so the newest token is
/// the latest write) and the rest are conflict versions.
/// </summary>
public sealed class NamespaceModel
{
    private readonly List<ModelVersion> _versions = [];
    private int? _side;
    private int _puts;

    /// <summary>What the cluster should answer, one line per operation.</summary>
    public List<string> Log { get; } = [];

    /// <summary>Whether some path had a conflict version at some point (coverage).</summary>
    public bool SawConflict { get; private set; }

    /// <summary>A put: always succeeds (durability all when whole, fast on one side of a split).</summary>
    public void Put(int node, int path)
    {
        Write(node, path, ++_puts);
        Log.Add($"put {ModelPaths.Name(path)} on n{node + 1}: ok");
    }

    /// <summary>A delete: not found unless the node sees a live winner.</summary>
    public void Delete(int node, int path)
    {
        var winner = Current(node, path).LastOrDefault();
        if (winner is null || winner.Tombstone)
        {
            Log.Add($"delete {ModelPaths.Name(path)} on n{node + 1}: not_found");
            return;
        }

        Write(node, path, 0);
        Log.Add($"delete {ModelPaths.Name(path)} on n{node + 1}: ok");
    }

    /// <summary>A get returns the node's winner.</summary>
    public void Get(int node, int path)
    {
        var winner = Current(node, path).LastOrDefault();
        Log.Add($"get {ModelPaths.Name(path)} on n{node + 1}: " + (winner is null || winner.Tombstone ? "not_found"
            : "ok " + winner.Number));
    }

    /// <summary>Winner and conflict versions.</summary>
    public void Versions(int node, int path)
    {
        var current = Current(node, path);
        SawConflict |= current.Count > 1;
        var text = current.Count == 0 ? "none" : Label(current[^1]) + " [" + string.Join(",",
            current.SkipLast(1).Select(Label).Order(StringComparer.Ordinal)) + "]";
        Log.Add($"versions {ModelPaths.Name(path)} on n{node + 1}: " + "ok " + text);
    }

    /// <summary>Paths whose winner is live.</summary>
    public void List(int node)
    {
        var live = Enumerable.Range(0, 3).Where(p => Current(node, p).LastOrDefault() is { Tombstone: false })
            .Select(ModelPaths.Name);
        Log.Add($"list on n{node + 1}: ok " + string.Join(",", live));
    }

    /// <summary>Splits one node off.</summary>
    public void Split(int side)
    {
        Log.Add($"split n{side + 1}");
        _side ??= side;
    }

    /// <summary>Heals: every version becomes visible everywhere.</summary>
    public void Heal()
    {
        Log.Add("heal");
        _side = null;
        foreach (var v in _versions)
        {
            v.Side = null;
        }
    }

    private void Write(int node, int path, int number)
    {
        var superseded = Current(node, path).ToHashSet();
        _versions.Add(new ModelVersion(path, number, superseded) { Side = _side is null ? null : SideOf(node) });
    }

    private int SideOf(int node) => node == _side ? 0 : 1;

    /// <summary>Versions of the path the node sees that nothing it sees superseded, oldest first (winner
    /// last).</summary>
    private List<ModelVersion> Current(int node, int path)
    {
        var visible = _versions.Where(v => v.Path == path && (v.Side is null || v.Side == SideOf(node))).ToList();
        return visible.Where(v => !visible.Any(o => o.Superseded.Contains(v))).ToList();
    }

    private static string Label(ModelVersion v) =>
        v.Tombstone ? "-" : v.Number.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed record ModelVersion(int Path, int Number, HashSet<ModelVersion> Superseded)
    {
        public bool Tombstone => Number == 0;

        public int? Side { get; set; }

        public bool Equals(ModelVersion? other) => ReferenceEquals(this, other);

        public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(this);
    }
}

/// <summary>Model-based test of the namespace under split brain (CsCheck SampleModelBased).</summary>
[Trait("Category", "Chaos")]
public sealed class NamespaceModelTests(ITestOutputHelper output)
{
    private static readonly Gen<int> Node = Gen.Int[0, ModelPaths.Nodes - 1];
    private static readonly Gen<int> Path = Gen.Int[0, 2];

    [Fact]
    public void The_cluster_agrees_with_the_namespace_model() =>
        Gen.Const(() => (new ClusterUnderTest(), new NamespaceModel())).SampleModelBased(
        [
            Gen.Select(Node, Path).Operation<ClusterUnderTest, NamespaceModel>(t => $"Put(n{t.Item1 + 1},{t.Item2})",
                (a, t) => a.Put(t.Item1, t.Item2), (m, t) => m.Put(t.Item1, t.Item2)),
            Gen.Select(Node, Path).Operation<ClusterUnderTest, NamespaceModel>(t => $"Get(n{t.Item1 + 1},{t.Item2})",
                (a, t) => a.Get(t.Item1, t.Item2), (m, t) => m.Get(t.Item1, t.Item2)),
            Gen.Select(Node, Path).Operation<ClusterUnderTest, NamespaceModel>(t => $"Delete(n{t.Item1 + 1},{t.Item2})",
                (a, t) => a.Delete(t.Item1, t.Item2), (m, t) => m.Delete(t.Item1, t.Item2)),
            Gen.Select(Node, Path).Operation<ClusterUnderTest, NamespaceModel>(
                t => $"Versions(n{t.Item1 + 1},{t.Item2})",
                (a, t) => a.Versions(t.Item1, t.Item2), (m, t) => m.Versions(t.Item1, t.Item2)),
            Node.Operation<ClusterUnderTest, NamespaceModel>(n => $"List(n{n + 1})", (a, n) => a.List(n),
                (m, n) => m.List(n)),
            Node.Operation<ClusterUnderTest, NamespaceModel>(n => $"Split(n{n + 1})", (a, n) => a.Split(n),
                (m, n) => m.Split(n)),
            Gen.Operation<ClusterUnderTest, NamespaceModel>("Heal", a => a.Heal(), m => m.Heal()),
        ],
        equal: (actual, model) =>
        {
            var same = actual.Log.SequenceEqual(model.Log, StringComparer.Ordinal);
            actual.Dispose();
            return same;
        },
        printActual: a => "\n  " + string.Join("\n  ", a.Log),
        printModel: m => "\n  " + string.Join("\n  ", m.Log),
        classify: m => m.SawConflict ? "saw a conflict version" : "no conflict",
        writeLine: output.WriteLine, iter: ModelIterations, threads: 1);

    /// <summary>Split brain by hand: both sides overwrite one path; after the heal the later write wins on every
    /// node and the other stays as a conflict version, as the model says.</summary>
    [Fact]
    public void Split_brain_leaves_a_conflict_version_the_model_predicts()
    {
        var actual = new ClusterUnderTest();
        var model = new NamespaceModel();
        void Both(Action<ClusterUnderTest> a, Action<NamespaceModel> m)
        {
            a(actual);
            m(model);
        }

        Both(a => a.Put(0, 0), m => m.Put(0, 0));
        Both(a => a.Split(2), m => m.Split(2));
        Both(a => a.Put(2, 0), m => m.Put(2, 0));
        Both(a => a.Put(0, 0), m => m.Put(0, 0));
        Both(a => a.Heal(), m => m.Heal());
        for (var node = 0; node < ModelPaths.Nodes; node++)
        {
            var n = node;
            Both(a => a.Versions(n, 0), m => m.Versions(n, 0));
        }

        actual.Dispose();
        Assert.True(model.SawConflict);
        Assert.Equal("versions m/a on n1: ok 3 [2]", model.Log[^3]);
        Assert.Equal(model.Log, actual.Log);
    }

    private static long ModelIterations => Environment.GetEnvironmentVariable(ChaosRunner.CasesVariable) is { } v
        && long.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var cases) ? cases / 10 + 1 : 60;
}
