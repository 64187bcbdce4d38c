namespace KeplerSim.Core.Runtime;

/// <summary>
/// Runs pure CPU work (hashing a chunk) for core. The work reads only what it is handed and decides nothing, so
/// the real node may run it on another core while its loop goes on; the task always completes back on the
/// node's logical thread. Decisions never leave the loop: core awaits the result and acts on it there.
/// </summary>
/// <remarks>The caller must not touch the buffers the work reads until the returned task completes.</remarks>
public interface IPureWork
{
    /// <summary>Runs <paramref name="work"/> and completes with its result (or its exception).</summary>
    Task<T> RunAsync<T>(Func<T> work);
}

/// <summary>
/// Runs pure work inline, on the caller's thread, before returning an already completed task: the simulator's
/// choice (and the default), so the work adds no event, no ordering and no nondeterminism to a run.
/// </summary>
public sealed class InlinePureWork : IPureWork
{
    /// <summary>The shared instance (the class has no state).</summary>
    public static readonly InlinePureWork Instance = new();

    private InlinePureWork()
    {
    }

    /// <inheritdoc />
    public Task<T> RunAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        try
        {
            return Task.FromResult(work());
        }
        catch (Exception e)
        {
            return Task.FromException<T>(e);
        }
    }
}
