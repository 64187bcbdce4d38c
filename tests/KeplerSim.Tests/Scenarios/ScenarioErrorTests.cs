using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Scenarios;

/// <summary>Malformed scenario files give the documented "file(line,col): message" errors.</summary>
[Trait("Category", "Fast")]
public sealed class ScenarioErrorTests
{
    static ScenarioErrorTests() => FakeFileProtocol.Register();

    private const string Head = "name: bad\nduration: 10s\ncluster:\n  nodes: 3\n";

    public static TheoryData<string, string, string> Cases => new()
    {
        { "bad YAML", "name: x\ncluster:\n  nodes: [1, 2\n",
            "bad.yaml(4,1): While parsing a flow sequence, did not find expected ',' or ']'." },
        { "unknown key", "name: x\ncluster:\n  nodez: 3\n",
            "bad.yaml(3,3): unknown key 'nodez' in cluster: expected one of chunk_size, cluster_key, " +
            "encryption_at_rest, keplerfs, membership, names, nodes, ping, protocol, replication_factor, seeds, start, " +
            "swim" },
        { "removed keplerfs.swim", "cluster:\n  protocol: keplerfs\n  keplerfs:\n    swim: true\n",
            "bad.yaml(4,5): 'cluster.keplerfs.swim' was removed: use cluster.membership: swim (the default) or " +
            "static" },
        { "unknown membership", "cluster:\n  membership: gossip\n",
            "bad.yaml(2,15): expected one of swim, static, got 'gossip'" },
        { "unknown seed", "cluster:\n  protocol: keplerfs\n  seeds: [n1, n7]\n",
            "bad.yaml(3,15): unknown node 'n7' in cluster.seeds: expected a name from the cluster" },
        { "seeds of a static cluster", "cluster:\n  protocol: keplerfs\n  membership: static\n  seeds: [n1]\n",
            "bad.yaml(4,10): cluster.seeds are for membership: swim; a static cluster's members are all its nodes" },
        { "swim timings out of range", "cluster:\n  swim:\n    probe_timeout: 2s\n",
            "bad.yaml(3,5): cluster.swim: probe timeout must be < probe interval" },
        { "wait for members on ping", Head + "steps:\n  - at: 1s\n    wait_until: members\n    on: n1\n" +
            "    members: [n1]\n",
            "bad.yaml(7,17): wait_until: members needs a protocol with its own membership (keplerfs), but the " +
            "cluster runs 'ping'" },
        { "members without on", "cluster:\n  protocol: keplerfs\nsteps:\n  - at: 1s\n    wait_until: members\n" +
            "    members: [n1]\n",
            "bad.yaml(5,17): wait_until: members needs 'on:' (the nodes whose view is checked) and 'members:' " +
            "(the member set they must place chunks over)" },
        { "on for another condition", "cluster:\n  protocol: keplerfs\nsteps:\n  - at: 1s\n" +
            "    wait_until: converged\n    on: n1\n",
            "bad.yaml(6,9): 'on:' is for wait_until: members" },
        { "durability_not_met on a get", "cluster:\n  protocol: keplerfs\nsteps:\n  - at: 1s\n    get: a\n" +
            "    on: n1\n    expect: durability_not_met\n",
            "bad.yaml(7,13): expect: durability_not_met is for put and delete steps" },
        { "wrong type", "name: x\ncluster:\n  nodes: three\n", "bad.yaml(3,10): expected an integer, got 'three'" },
        { "bad duration", "duration: 10 parsecs\n",
            "bad.yaml(1,11): expected a duration (a number and a unit: us, ms, s, m, h, e.g. 5s), got '10 parsecs'" },
        { "duplicate key", "name: x\nname: y\n", "bad.yaml(2,1): duplicate key 'name'" },
        { "unknown node", Head + "steps:\n  - at: 1s\n    crash: n9\n",
            "bad.yaml(7,12): unknown node 'n9': expected one of n1, n2, n3 (or all)" },
        { "step before start", Head
            + "  start: [n1, n2]\nsteps:\n  - at: 1s\n    crash: n3\n  - at: 2s\n    start: n3\n",
            "bad.yaml(8,12): node 'n3' is not started until 2s (it is not in cluster.start), " +
            "but this step runs at 1s" },
        { "step after duration", Head + "steps:\n  - at: 11s\n    heal: all\n",
            "bad.yaml(6,9): step at 11s is after the end of the run (duration: 10s)" },
        { "empty partition group", Head + "steps:\n  - at: 1s\n    partition: [[n1], []]\n",
            "bad.yaml(7,23): a partition group is empty: expected at least one node name" },
        { "unknown step option", Head + "steps:\n  - at: 1s\n    crash: n1\n    for: 2s\n",
            "bad.yaml(8,5): unknown key 'for' in a 'crash' step: expected one of at, restart_after" },
        { "two actions", Head + "steps:\n  - at: 1s\n    crash: n1\n    pause: n2\n",
            "bad.yaml(8,5): a step has one action, but this one has 'crash' and 'pause'" },
        { "unknown protocol", "cluster:\n  protocol: raft\n",
            "bad.yaml(2,13): unknown protocol 'raft': expected one of keplerfs, ping, test-files" },
        { "file step on ping", Head + "steps:\n  - at: 1s\n    put: /a\n    on: n1\n",
            "bad.yaml(7,10): a put step needs a protocol with a file API (keplerfs), but the cluster runs 'ping'" },
        { "unknown invariant", "expect:\n  invariants: [no_data_loss]\n",
            "bad.yaml(2,16): unknown invariant 'no_data_loss': expected one of chunks_match_ids, all_nodes_running, " +
            "replication_queues_empty, replicas_on_owners, no_surplus_copies, corrupt_chunks_repaired, " +
            "garbage_collected, winners_agree, acknowledged_writes_readable, membership_converged, no_false_dead, " +
            "no_false_suspicion, copies_durable_at_ack, reads_return_written_bytes, versions_never_regress, " +
            "replicas_durable_and_verified, no_intact_copy_condemned, orphans_keep_acked_copies, " +
            "no_garbage_churn, outsider_changes_nothing, " +
            "replication_factor_converged" },
        { "replication factor out of range", Head + "steps:\n  - at: 1s\n    replication_factor: 4\n    on: n1\n",
            "bad.yaml(7,25): replication_factor: expected 1..3 (at most the 3 nodes and 8), got 4" },
        { "replication factor without on", Head + "steps:\n  - at: 1s\n    replication_factor: 2\n",
            "bad.yaml(7,25): a replication_factor step needs 'on:' (the node the operator calls)" },
        { "replication factor on a static cluster", "name: bad\nduration: 10s\ncluster:\n  nodes: 3\n" +
            "  protocol: keplerfs\n  membership: static\nsteps:\n  - at: 1s\n    replication_factor: 2\n    on: n1\n",
            "bad.yaml(9,25): a replication_factor step needs the keplerfs protocol with membership: swim (gossip " +
            "spreads the change; a static member list has nothing to spread it)" },
        { "range", "network:\n  loss: 1.5\n", "bad.yaml(2,3): network: loss must be in [0, 1]" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Malformed_file_gives_a_positioned_error(string what, string text, string expected)
    {
        var error = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(text, "bad.yaml"));
        Assert.True(expected == error.Message, $"{what}:\nexpected: {expected}\nactual:   {error.Message}");
    }

    [Fact]
    public void Missing_file_is_a_bad_input_exit_code()
    {
        var run = Repo.RunSim("run", "no-such-file.yaml");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("error: no-such-file.yaml: file does not exist", run.Output, StringComparison.Ordinal);
    }
}
