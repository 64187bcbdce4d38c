using KeplerSim.Core.Node;
using KeplerSim.Node.Logging;

namespace KeplerSim.Node.Hosting;

public sealed partial class NodeHost
{
    private readonly TaskCompletionSource<HandoffReport> _drained =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _draining;

    /// <summary>True once a drain began: file requests are refused, the node is leaving.</summary>
    public bool Draining => Volatile.Read(ref _draining) == 1;

    /// <summary>
    /// Completes with the hand-off report when a drain finished; whoever runs the host then stops it
    /// (<c>serve</c> exits 0 without a second leave).
    /// </summary>
    public Task<HandoffReport> Drained => _drained.Task;

    /// <summary>
    /// Decommissions the node (<c>kepler-node drain</c>): announces its leave through SWIM, so every node's ring
    /// drops it and its chunks get stable new owners, then hands every local chunk to those owners and waits
    /// until the replication queue is empty or <paramref name="timeoutMs"/> passed. Unlike SIGTERM's bounded
    /// hand-off, a drain waits as long as the operator allows and says whether it finished. A second drain while
    /// one runs is refused (null).
    /// </summary>
    public async Task<HandoffReport?> DrainAsync(long timeoutMs)
    {
        if (Interlocked.Exchange(ref _draining, 1) == 1)
        {
            return null;
        }

        _log.Leaving(timeoutMs);
        var report = await HandOffAsync(timeoutMs);
        _drained.TrySetResult(report);
        return report;
    }
}
