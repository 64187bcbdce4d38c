using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Replication;

/// <summary>
/// Re-verifies local chunks one at a time at a bounded rate (a cursor walks the chunk table and wraps). A
/// corrupt or missing chunk is dropped from the index, then repaired from a replica; if no replica answers it
/// stays dropped and the repair scan (or a later pass) restores it. While a client upload or download runs on the
/// node, scrub slows to one chunk per <see cref="KeplerOptions.ScrubBusyIntervalMicroseconds"/>, so background
/// verification does not compete with clients for the disk and the CPU.
/// </summary>
internal sealed class Scrubber(IScrubContext node, NodeRuntime runtime, KeplerOptions options)
{
    private string? _cursor;

    /// <summary>Chunks verified so far.</summary>
    public long Verified { get; private set; }

    /// <summary>Bad chunks found so far.</summary>
    public long Found { get; private set; }

    /// <summary>Bad chunks repaired so far.</summary>
    public long Repaired { get; private set; }

    public void Start()
    {
        if (options.ScrubChunksPerSecond > 0)
        {
            Schedule();
        }
    }

    private void Schedule() =>
        runtime.Clock.Schedule(Interval, () => runtime.Supervisor.Run("scrub.step", StepAsync));

    private long Interval
    {
        get
        {
            var own = 1_000_000L / options.ScrubChunksPerSecond;
            return node.ClientTransfersInFlight > 0 ? Math.Max(options.ScrubBusyIntervalMicroseconds, own) : own;
        }
    }

    private async Task StepAsync()
    {
        try
        {
            var next = node.Meta.ListChunks(_cursor, 1);
            _cursor = next.Count == 0 ? null : next[0].Id;
            if (next.Count == 1)
            {
                await ScrubAsync(next[0].Id);
            }
        }
        finally
        {
            Schedule();
        }
    }

    private async Task ScrubAsync(string id)
    {
        ChunkStatus status;
        try
        {
            status = await node.Store.VerifyAsync(id);
        }
        catch (IOException)
        {
            return; // A read error is not proof of corruption; the next pass looks again.
        }

        Verified++;
        if (status == ChunkStatus.Ok)
        {
            return;
        }

        Found++;

        // With no intact copy anywhere reachable the file is deleted: with its row gone nothing would look at it
        // again (chaos regression scenarios/regressions/unrepairable-corrupt-chunk.yaml).
        var repaired = await node.ReplaceCorruptLocalCopyAsync(id);
        Repaired += repaired ? 1 : 0;
        runtime.Events.Publish(new ScrubFound(id, status.ToString(), repaired));
    }
}
