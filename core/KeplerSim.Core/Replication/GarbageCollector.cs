using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Replication;

/// <summary>
/// Reclaims chunks no manifest needs. First, history (versions a later write superseded) older than the grace
/// period gives up its chunk references (the row stays, so a peer cannot resurrect it). Then a chunk that no
/// live or conflict version references, that was stored longer ago than the grace period, and that no transfer
/// is moving, is deleted. The grace period outlasts the write timeout and manifest dissemination, so a chunk
/// whose manifest is still on its way is never taken for garbage.
/// </summary>
internal sealed class GarbageCollector(IGarbageContext node, NodeRuntime runtime, KeplerOptions options)
{
    private const int BatchMax = 256;

    /// <summary>Chunks deleted so far.</summary>
    public long Collected { get; private set; }

    public void Start() => Schedule();

    private void Schedule() =>
        runtime.Clock.Schedule(options.GcIntervalMicroseconds, () => runtime.Supervisor.Run("gc.run", RunAsync));

    private async Task RunAsync()
    {
        try
        {
            var horizon = runtime.Clock.WallMicroseconds - options.GcGraceMicroseconds;
            node.Meta.Transaction(meta =>
            {
                foreach (var fileId in meta.ListSupersededWithReferences(horizon, BatchMax))
                {
                    meta.DropChunkReferences(fileId);
                }
            });
            foreach (var chunk in node.Meta.ListUnreferencedChunks(limit: BatchMax))
            {
                if (chunk.CreatedAtUs < horizon && !node.IsMoving(chunk.Id) && await node.DeleteUnneededAsync(chunk.Id))
                {
                    Collected++;
                    runtime.Events.Publish(new ChunkCollected(chunk.Id));
                }
            }
        }
        catch (IOException)
        {
            // A failing delete leaves the file; the next run finds it again (its row is gone: recovery re-adds it).
        }
        finally
        {
            Schedule();
        }
    }
}
