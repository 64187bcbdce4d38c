using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tests.Node;

namespace KeplerSim.Tests.Chaos;

/// <summary>
/// The checkers the chaos property added hold on a healthy cluster and fail when what they guard is broken:
/// a checker that cannot fail would make the property vacuous.
/// </summary>
[Trait("Category", "Fast")]
public sealed class InvariantCheckerTests
{
    private static (KeplerCluster Cluster, CheckContext Context) Cluster(int nodes = 3)
    {
        var cluster = KeplerCluster.Create(nodes, seed: 5);
        var context = new CheckContext(cluster.Sim, new KeplerOptions { ChunkSizeBytes = KeplerCluster.ChunkSize },
            new FileLedger());
        return (cluster, context);
    }

    [Fact]
    public void Replicas_durable_and_verified_fails_on_an_indexed_chunk_whose_bytes_changed()
    {
        var (cluster, context) = Cluster();
        using var _ = cluster;
        cluster.Put(0, "a/file", KeplerCluster.Bytes(3000, 1), Durability.All);
        Assert.Null(InvariantChecks.ReplicasDurableAndVerified(context));
        var id = cluster.ChunksOf(0, "a/file")[0];
        Assert.True(cluster.Nodes[1].Disk.Corrupt(ChunkStore.PathOf(id)));
        context.Inspector.Invalidate("n2", ChunkStore.PathOf(id));
        var failure = InvariantChecks.ReplicasDurableAndVerified(context);
        Assert.NotNull(failure);
        Assert.Contains($"n2:{id[..12]} content does not match", failure, StringComparison.Ordinal);

        // A fault the run knows about is no protocol bug.
        context.KnownCorrupt.Add(("n2", id));
        Assert.Null(InvariantChecks.ReplicasDurableAndVerified(context));
    }

    /// <summary>The check looks again only at replicas whose file changed since it found them durable and intact:
    /// a change the disk logs (here the corruption itself, with no invalidation by the run) must bring one back.
    /// </summary>
    [Fact]
    public void Replicas_durable_and_verified_looks_again_at_a_replica_whose_file_changed()
    {
        var (cluster, context) = Cluster();
        using var _ = cluster;
        cluster.Put(0, "a/file", KeplerCluster.Bytes(3000, 1), Durability.All);
        Assert.Null(InvariantChecks.ReplicasDurableAndVerified(context));
        cluster.Put(0, "b/file", KeplerCluster.Bytes(3000, 2), Durability.All);
        Assert.Null(InvariantChecks.ReplicasDurableAndVerified(context));
        var id = cluster.ChunksOf(0, "a/file")[0];
        Assert.True(cluster.Nodes[1].Disk.Corrupt(ChunkStore.PathOf(id)));
        var failure = InvariantChecks.ReplicasDurableAndVerified(context);
        Assert.NotNull(failure);
        Assert.Contains($"n2:{id[..12]} content does not match", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Versions_never_regress_fails_when_a_winner_goes_back_to_an_older_token()
    {
        var (cluster, context) = Cluster();
        using var _ = cluster;
        var info = cluster.Put(0, "a/file", KeplerCluster.Bytes(100, 1), Durability.All);
        Assert.Null(InvariantChecks.VersionsNeverRegress(context.Cluster));
        var token = ClusterInspector.ParseVersion(info.Version)!.Value;
        Assert.Equal(token, context.HighestWinners[("n1", "a/file")]);

        var newer = cluster.Put(0, "a/file", KeplerCluster.Bytes(100, 2), Durability.All);
        Assert.Null(InvariantChecks.VersionsNeverRegress(context.Cluster));
        Assert.Equal(ClusterInspector.ParseVersion(newer.Version)!.Value, context.HighestWinners[("n1", "a/file")]);

        // n1's metadata goes back to the older version (the history row is still there): the check reads only the
        // rows the node changed since the last check, and these are among them.
        using (var connection = cluster.Nodes[0].Metadata.Open())
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "UPDATE files SET is_winner = 0 WHERE path = 'a/file'; UPDATE files SET is_winner = 1 " +
                "WHERE path = 'a/file' AND version_wall_us = $w AND version_logical = $l AND version_node = $n";
            cmd.Parameters.AddWithValue("$w", token.WallMicroseconds);
            cmd.Parameters.AddWithValue("$l", token.Logical);
            cmd.Parameters.AddWithValue("$n", token.Node.Value);
            Assert.True(cmd.ExecuteNonQuery() > 0);
        }

        var failure = InvariantChecks.VersionsNeverRegress(context.Cluster);
        Assert.NotNull(failure);
        Assert.Contains("n1:a/file winner went back", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Versions_never_regress_compares_every_winner_at_its_first_check()
    {
        var (cluster, context) = Cluster();
        using var _ = cluster;
        var info = cluster.Put(0, "a/file", KeplerCluster.Bytes(100, 1), Durability.All);
        var token = ClusterInspector.ParseVersion(info.Version)!.Value;

        // As if n1 had shown a newer winner before (at a manifest.applied event): what it holds now is older.
        context.HighestWinners[("n1", "a/file")] = token with { Logical = token.Logical + 1 };
        var failure = InvariantChecks.VersionsNeverRegress(context.Cluster);
        Assert.NotNull(failure);
        Assert.Contains("n1:a/file winner went back", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Winners_agree_fails_while_a_partitioned_node_misses_a_write()
    {
        var (cluster, context) = Cluster();
        using var _ = cluster;
        cluster.Sim.Network.Partition([cluster.Nodes[2]], [cluster.Nodes[0], cluster.Nodes[1]]);
        cluster.Put(0, "a/file", KeplerCluster.Bytes(100, 1), Durability.Fast);
        var failure = InvariantChecks.WinnersAgree(context.Cluster);
        Assert.NotNull(failure);
        Assert.Contains("a/file: n1 has", failure, StringComparison.Ordinal);
        Assert.Contains("n3 has nothing", failure, StringComparison.Ordinal);

        cluster.Sim.Network.Heal();
        Assert.True(cluster.Sim.RunUntil(() => InvariantChecks.WinnersAgree(context.Cluster) is null, 30_000_000,
            100_000),
            "winners did not agree within 30 s of the heal");
    }

    [Fact]
    public void Membership_converged_fails_when_a_node_places_over_a_different_member_set()
    {
        var (cluster, context) = Cluster();
        using var _ = cluster;
        context.MembershipView = node =>
            node.Program is KeplerNode k ? k.Cluster.Ids.Select(i => i.Value).ToList() : null;
        Assert.Null(InvariantChecks.MembershipConverged(context.Cluster));
        context.MembershipView = node => node.Name == "n2" ? ["n1", "n2"] : ["n1", "n2", "n3"];
        Assert.Equal("expected [n1,n2,n3]: n2 sees [n1,n2]", InvariantChecks.MembershipConverged(context.Cluster));
    }

    [Fact]
    public void Reads_return_written_bytes_fails_when_a_get_returns_bytes_nobody_wrote()
    {
        var ledger = new FileLedger();
        var put = ledger.Begin(FileOpKind.Put, "p", "n1", 1, 0, hash: new string('a', 64), size: 3);
        put.Complete(10, "ok", null);
        var good = ledger.Begin(FileOpKind.Get, "p", "n2", 1, 20);
        good.Complete(30, "ok", new string('a', 64));
        using var sim = new KeplerSim.Sim.Kernel.Simulation(new KeplerSim.Sim.Kernel.SimulationOptions { Seed = 1 });
        var context = new CheckContext(sim, new KeplerOptions(), ledger);
        var bad = ledger.Begin(FileOpKind.Get, "p", "n2", 1, 40);
        Assert.Null(InvariantChecks.ReadsReturnWrittenBytes(context)); // Still running: judged once it completes.
        bad.Complete(50, "ok", new string('b', 64));
        var failure = InvariantChecks.ReadsReturnWrittenBytes(context);
        Assert.NotNull(failure);
        Assert.Contains("get p on n2", failure, StringComparison.Ordinal);
        Assert.Equal(failure, InvariantChecks.ReadsReturnWrittenBytes(context)); // A judged read stays judged.
    }

    /// <summary>
    /// The event checkers look up a write's start at every acknowledgement from the path's writes (issue 14: scanning
    /// every operation of the run made each acknowledgement cost more as the run went on): those are exactly the
    /// path's puts and deletes, in issue order.
    /// </summary>
    [Fact]
    public void The_ledger_lists_a_paths_puts_and_deletes_in_issue_order()
    {
        var ledger = new FileLedger();
        var first = ledger.Begin(FileOpKind.Put, "p", "n1", 1, 0);
        ledger.Begin(FileOpKind.Put, "q", "n1", 1, 1);
        ledger.Begin(FileOpKind.Get, "p", "n2", 1, 2);
        var delete = ledger.Begin(FileOpKind.Delete, "p", "n2", 1, 3);
        var second = ledger.Begin(FileOpKind.Put, "p", "n3", 1, 4);
        Assert.Equal([first, delete, second], ledger.WritesOf("p"));
        Assert.Empty(ledger.WritesOf("never"));
    }

    [Fact]
    public void Version_tokens_parse_as_they_print()
    {
        var token = new VersionToken(-5, 7, new NodeId("n.1@x"));
        Assert.Equal(token, ClusterInspector.ParseVersion(token.ToString()));
        Assert.Null(ClusterInspector.ParseVersion("garbage"));
    }
}

/// <summary>Every scenario under scenarios/regressions/ (each pins a bug the chaos property found) passes.</summary>
[Trait("Category", "Fast")]
public sealed class ChaosRegressionScenarioTests
{
    public static TheoryData<string> Files() => new(Directory.EnumerateFiles(Repo.Scenario("regressions"), "*.yaml")
        .Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    [Theory]
    [MemberData(nameof(Files))]
    public void Regression_scenario_passes(string file)
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(Path.Combine("regressions", file)));
        Assert.StartsWith("# Regression", File.ReadAllText(Repo.Scenario(Path.Combine("regressions", file))),
            StringComparison.Ordinal);
        var result = ScenarioRunner.Run(scenario, scenario.Seed);
        Assert.True(result.Passed, ChaosRunner.Failures(result));
    }
}

/// <summary>Scrub and a corrupt chunk that no node can restore.</summary>
[Trait("Category", "Fast")]
public sealed class UnrepairableCorruptionTests
{
    /// <summary>Regression (chaos long run, scenarios/regressions/unrepairable-corrupt-chunk.yaml): scrub dropped
    /// the row of an unrepairable corrupt chunk but left its file on disk for good.</summary>
    [Fact]
    public void Scrub_deletes_a_corrupt_chunk_it_cannot_restore()
    {
        using var cluster = KeplerCluster.Create(1, seed: 8, new KeplerOptions
        {
            ReplicationFactor = 1, ChunkSizeBytes = KeplerCluster.ChunkSize, ScrubChunksPerSecond = 50,
            ScrubPassMicroseconds = 0,
        });
        cluster.Put(0, "only/copy", KeplerCluster.Bytes(2 * KeplerCluster.ChunkSize, 3), Durability.All);
        var id = cluster.ChunksOf(0, "only/copy")[0];
        Assert.True(cluster.Nodes[0].Disk.Corrupt(ChunkStore.PathOf(id)));
        Assert.True(cluster.Sim.RunUntil(() => cluster.Kepler(0).ScrubCounts.Found >= 1, 30_000_000, 100_000),
            "scrub did not find the corrupt chunk within 30 s");
        Assert.Equal(0, cluster.Kepler(0).ScrubCounts.Repaired);
        Assert.Empty(cluster.Holders(id));
        Assert.Null(cluster.Kepler(0).Meta.GetChunk(id));
    }
}
