using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Kernel;

/// <summary>
/// Pure work (hashing, sealing, authenticating chunk bytes) as the real node runs it: off the node's loop. The
/// real node hands it to the thread pool and its loop goes on serving datagrams, streams and disk completions
/// until the work's task completes; here the work runs, and its task completes, a seeded virtual delay after it
/// was handed over, and the node's other events run in between. So code that forgets to await its pure work, or
/// touches the bytes the work reads before it ends, fails in the simulator as it would on a real node (running the
/// work inline, as the simulator did before, hid both: it always finished first).
/// </summary>
/// <remarks>
/// The work runs at the end of the delay, not at its start: the latest moment a real thread could read the
/// caller's buffers. A crash drops it with the node's other events (the task never completes: the program that
/// awaited it is gone); a pause holds it back with them.
/// </remarks>
internal sealed class SimPureWork(Simulation sim, SimNode node, IRandom random) : IPureWork
{
    /// <summary>The shortest virtual time pure work takes (a hop to another thread and back).</summary>
    public const long DelayMinMicroseconds = 1;

    /// <summary>
    /// The longest: hashing a 256 KiB segment at about 1 GB/s, so large work sometimes outlasts a disk write of
    /// the default latency and sometimes does not.
    /// </summary>
    public const long DelayMaxMicroseconds = 300;

    /// <inheritdoc />
    public Task<T> RunAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        sim.AssertRunning(node);
        var done = new TaskCompletionSource<T>();
        var delay = random.NextLong(DelayMinMicroseconds, DelayMaxMicroseconds + 1);
        sim.Enqueue(sim.Now + delay, node, node.Epoch, () =>
        {
            T result;
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                done.SetException(e);
                return;
            }

            done.SetResult(result);
        });
        return done.Task;
    }
}
