using KeplerSim.Core.Runtime;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// Runs core's pure CPU work (hashing chunks) on the thread pool and completes the task on the node's loop, so
/// hashing uses the other cores while the loop keeps serving; the awaiting core code resumes on the loop.
/// </summary>
public sealed class ThreadPoolPureWork(EventLoop loop) : IPureWork
{
    /// <inheritdoc />
    public Task<T> RunAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return loop.RunIoAsync(() => Task.FromResult(work()));
    }
}
