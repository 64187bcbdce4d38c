using KeplerSim.Core.Transfer;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Scenarios;

/// <summary>
/// The traffic metrics <c>kepler-sim bench</c> reports (docs/BENCHMARKS.md, "Bytes between nodes"): stream bytes by
/// exchange kind, counted from an optional virtual time to the timeline's end, without changing the run.
/// </summary>
[Trait("Category", "Fast")]
public sealed class TrafficMetricsTests
{
    private const string Steady = """
        name: traffic
        duration: 10s
        cluster:
          nodes: 3
          protocol: keplerfs
          replication_factor: 3
          chunk_size: 64KiB
        workloads:
          - name: load
            rate: 10
            size_min: 1KiB
            size_max: 16KiB
            paths: 20
            durability: quorum
        """;

    private static double Timeline(RunResult r, string name) =>
        r.Metrics.GetValueOrDefault(ScenarioRun.TimelineMetricPrefix + name);

    [Fact]
    public void A_later_measure_start_counts_less_traffic_of_the_very_same_run()
    {
        var whole = ScenarioRunner.Run(ScenarioLoader.Parse(Steady, "traffic.yaml"), 7);
        var late = ScenarioRunner.Run(ScenarioLoader.Parse(Steady, "traffic.yaml"), 7,
            measureFromMicroseconds: 5_000_000);

        Assert.True(whole.Passed && late.Passed);
        Assert.Equal(whole.TraceHash, late.TraceHash);
        Assert.Equal(whole.Metrics["bytes.streamed"], late.Metrics["bytes.streamed"]);
        var (all, window) = (Timeline(whole, "bytes.streamed"), Timeline(late, "bytes.streamed"));
        Assert.True(window > 0 && window < all && all <= whole.Metrics["bytes.streamed"],
            $"streamed {window} from 5 s, {all} from 0 s, {whole.Metrics["bytes.streamed"]} in the whole run");
        var (acked, ackedLate) = (Timeline(whole, "bytes.put.acknowledged"), Timeline(late, "bytes.put.acknowledged"));
        Assert.True(ackedLate > 0 && ackedLate < acked, $"acknowledged {ackedLate} B from 5 s, {acked} B from 0 s");
    }

    [Fact]
    public void Every_acknowledged_byte_went_to_the_two_other_owners_and_the_kinds_add_up_to_the_plain_bytes()
    {
        var r = ScenarioRunner.Run(ScenarioLoader.Parse(Steady, "traffic.yaml"), 8);
        var kinds = StreamTrafficCounts.Kinds
            .ToDictionary(k => k, k => Timeline(r, SimTransferCounts.BytesSentMetric(k)));

        // RF = 3 on three nodes: the node that takes a put stores it and pushes it to both others.
        Assert.InRange(kinds[StreamTrafficKind.ChunkStore], 2 * Timeline(r, "bytes.put.acknowledged"), double.MaxValue);
        Assert.True(kinds[StreamTrafficKind.ManifestPut] > 0, "manifests pushed");
        Assert.Equal(0, kinds[StreamTrafficKind.Other]);
        // The cluster key's tags and handshakes are what the transport carried beyond the plain frames.
        Assert.InRange(kinds.Values.Sum(), 1, Timeline(r, "bytes.streamed") - 1);
        Assert.True(Timeline(r, "bytes.datagrams") > 0, "SWIM datagrams are counted apart");
    }
}
