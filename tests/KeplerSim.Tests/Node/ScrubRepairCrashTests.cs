using KeplerSim.Core.Node;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;
using Xunit.Abstractions;

namespace KeplerSim.Tests.Node;

/// <summary>
/// A crash in the middle of a scrub repair never tears the copy: the chunk's file is, at every crash point,
/// either the old (known corrupt) bytes, the repaired bytes, or absent; the index never vouches for anything but
/// a durable, intact file; after the restart the chunk is whole on every owner again.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ScrubRepairCrashTests(ITestOutputHelper output)
{
    private const int C = KeplerCluster.ChunkSize;

    // Crash this long after the repair's first disk operation on its tmp file: from at once to past its end.
    private static readonly long[] CrashOffsetsMicroseconds = [0, 30, 100, 200, 400, 700, 1_000, 2_000, 5_000];

    [Fact]
    public void A_crash_at_any_point_of_a_scrub_repair_leaves_the_copy_old_or_whole_never_torn()
    {
        var midRepair = 0;
        foreach (var offset in CrashOffsetsMicroseconds)
        {
            midRepair += CrashDuringRepair(offset) ? 1 : 0;
        }

        // The sweep must really hit the repair while it runs, or it proves nothing.
        Assert.True(midRepair >= 2, $"only {midRepair} crash(es) landed while the repair was in progress");
    }

    /// <summary>Runs one crash point; returns whether the crash landed while the repair was in progress.</summary>
    private bool CrashDuringRepair(long offset)
    {
        // A crash right after scrub dropped the corrupt copy's row loses the repair; the copy comes back through the
        // other owners' periodic repair scan (the victim holds nothing to scan), hence a short scan interval.
        var options = new KeplerOptions
        {
            ChunkSizeBytes = C, ScrubChunksPerSecond = 50, ScrubPassMicroseconds = 0,
            RepairScanIntervalMicroseconds = 5 * SimHarness.Second,
        };
        using var cluster = KeplerCluster.Create(3, seed: 71, options);
        var data = KeplerCluster.Bytes(C, 9);
        cluster.Put(0, "s", data, Durability.All);
        var id = cluster.ChunksOf(0, "s")[0];
        var path = ChunkStore.PathOf(id);
        var victim = cluster.Nodes[1];
        Assert.True(victim.Disk.Corrupt(path));
        var corrupt = victim.Disk.Peek(path)!;

        // The repair's first operation on a tmp file of the victim starts the clock to the crash.
        var (crashed, inProgress) = (false, false);
        var armed = true;
        void Arm(TraceRecord record)
        {
            if (armed && record.Node == victim.Name && record.Kind == TraceKind.Disk
                && record.Detail?.Contains("chunks/tmp/", StringComparison.Ordinal) == true)
            {
                armed = false;
                cluster.Sim.Schedule(offset, () =>
                {
                    inProgress = !victim.Disk.Peek(path)?.AsSpan().SequenceEqual(data) ?? true;
                    victim.Crash();
                    crashed = true;
                });
            }
        }

        cluster.Sim.Trace.Recorded += Arm;
        Assert.True(cluster.Sim.RunUntil(() => crashed, 60 * SimHarness.Second),
            $"offset {offset} us: waiting for the scrub repair to start and the crash");
        cluster.Sim.Trace.Recorded -= Arm;

        var after = victim.Disk.Peek(path);
        Assert.True(after is null || after.AsSpan().SequenceEqual(data) || after.AsSpan().SequenceEqual(corrupt),
            $"offset {offset} us: the copy is torn after the crash ({after!.Length} bytes, neither old nor repaired)");
        if (ClusterInspector.IndexesChunk(victim, id) == true)
        {
            Assert.True(victim.Disk.IsDurable(path) && victim.Disk.Peek(path)!.AsSpan().SequenceEqual(data),
                $"offset {offset} us: the index vouches for a copy that is not durable and intact");
        }

        cluster.Start(victim);
        Assert.True(cluster.Sim.RunUntil(() => cluster.DurableOwnerCopies(id) == 3, 60 * SimHarness.Second),
            $"offset {offset} us: waiting for the chunk to be whole on its three owners after the restart");
        Assert.Equal(data, cluster.Get(1, "s"));
        output.WriteLine($"offset {offset} us: crash {(inProgress ? "during" : "after")} the repair; copy whole");
        return inProgress;
    }
}
