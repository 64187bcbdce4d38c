using KeplerSim.Core.Storage;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Node.Tests.RealMode;

/// <summary>The checkers bite in real mode: damage done to the real data directories out of band is found. Runs on
/// loopback (<c>--loopback</c>: no namespaces, process faults only), the mode of a machine without root.</summary>
[Collection(RealModeRuns.Collection)]
public sealed class RealCheckerBitesTests
{
    private const string File = """
        name: lost-acknowledged-chunk
        description: one acknowledged write whose every copy the test deletes before the final checks
        seed: 5
        duration: 2s
        cluster:
          nodes: 3
          protocol: keplerfs
          replication_factor: 3
          chunk_size: 64KiB
        steps:
          - at: 100ms
            put: docs/report.bin
            on: n1
            size: 100KiB
            durability: all
        expect:
          converge_within: 30s
        """;

    [Fact]
    public async Task Deleting_every_copy_of_an_acknowledged_chunk_fails_acknowledged_writes_readable()
    {
        var scenario = ScenarioLoader.Parse(File, "lost-acknowledged-chunk.yaml");
        var deleted = new List<string>();

        var result = await RealModeRuns.RunAsync(scenario, dataDirs =>
        {
            // Every copy of one chunk of the acknowledged file, on every node, behind the nodes' backs.
            DeleteEveryCopyOfOneChunk(dataDirs, deleted);
            return Task.CompletedTask;
        }, loopback: true);

        var report = RealModeRuns.Report(result);
        Assert.True(result.RealMode?.StartsWith("real on loopback", StringComparison.Ordinal) == true, report);
        Assert.True(deleted.Count == 3, $"three copies deleted (RF 3), not {deleted.Count}\n{report}");
        var check = Assert.Single(result.Expectations, e => e.Name == InvariantCatalog.AcknowledgedWritesReadable);
        Assert.True(check.Status == ExpectationStatus.Fail, $"acknowledged_writes_readable must fail\n{report}");
        Assert.Contains("docs/report.bin", check.Detail, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(deleted[0])[..12], check.Detail, StringComparison.Ordinal);
    }

    /// <summary>
    /// The event checkers bite on real processes: at the arrival of the acknowledgement of docs/report.bin (an
    /// <c>all</c> write: three copies promised), the test deletes every copy of one of its chunks, out of band and
    /// before the check reads the data directories. <c>copies_durable_at_ack</c> names acceptor, path and chunk.
    /// </summary>
    [Fact]
    public async Task Deleting_every_copy_at_the_acknowledgement_fails_copies_durable_at_ack()
    {
        var scenario = ScenarioLoader.Parse(File, "lost-acknowledged-chunk.yaml");
        var deleted = new List<string>();

        var result = await RealModeRuns.RunAsync(scenario, beforeEventCheck: (e, dataDirs) =>
        {
            if (deleted.Count == 0 && WriteAck.Of(e) is { Path: "docs/report.bin" })
            {
                DeleteEveryCopyOfOneChunk(dataDirs, deleted);
            }

            return Task.CompletedTask;
        }, loopback: true);

        var report = RealModeRuns.Report(result);
        Assert.True(deleted.Count == 3, $"three copies deleted at the acknowledgement, not {deleted.Count}\n{report}");
        var check = Assert.Single(result.Expectations, e => e.Name == InvariantCatalog.CopiesDurableAtAck);
        Assert.True(check.Status == ExpectationStatus.Fail, $"copies_durable_at_ack must fail\n{report}");
        Assert.Contains("n1 acknowledged docs/report.bin", check.Detail, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(deleted[0])[..12] + " on []", check.Detail, StringComparison.Ordinal);
    }

    /// <summary>Deletes every node's copy of the lowest chunk id any data directory holds (the file has one or
    /// two chunks, all from the one acknowledged write), adding each deleted path to <paramref name="deleted"/>.
    /// </summary>
    private static void DeleteEveryCopyOfOneChunk(IReadOnlyDictionary<string, string> dataDirs, List<string> deleted)
    {
        var victim = dataDirs.Values.SelectMany(d => Support.ChunkFiles.List(d).Keys).Order().First();
        foreach (var dir in dataDirs.Values)
        {
            var path = Path.Combine(dir, ChunkStore.PathOf(victim));
            if (System.IO.File.Exists(path))
            {
                System.IO.File.Delete(path);
                deleted.Add(path);
            }
        }
    }
}
