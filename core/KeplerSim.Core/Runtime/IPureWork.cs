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

    /// <summary>
    /// Runs two stages of pure work over <paramref name="stages"/> pieces: <paramref name="first"/> for pieces 0, 1,
    /// … in order, and <paramref name="second"/> for each piece, in order, once <paramref name="first"/> finished
    /// it. A host may overlap them on two cores (the second stage of piece k while the first stage works on piece
    /// k + 1); this default runs them interleaved (first(0), second(0), first(1), …) as one piece of pure work.
    /// When <paramref name="first"/> returns false for a piece, no later piece is started by either stage and the
    /// task completes with false (as soon as the second stage, if running, finished its piece); else with true.
    /// </summary>
    /// <remarks>Each stage runs on one thread at a time, so a stage may keep state (a hash) across its pieces; the
    /// two stages may run at once, so they must share nothing but the pieces the first hands to the second.
    /// </remarks>
    Task<bool> RunPipelineAsync(int stages, Func<int, bool> first, Action<int> second) =>
        RunAsync(() => PureWorkPipeline.RunInterleaved(stages, first, second));
}

/// <summary>The sequential form of <see cref="IPureWork.RunPipelineAsync"/>, for hosts that do not overlap.</summary>
public static class PureWorkPipeline
{
    /// <summary>The most pieces one pipeline may have (a 64 MiB chunk in 64 KiB segments is 1,024).</summary>
    public const int StagesMax = 4096;

    /// <summary>first(0), second(0), first(1), …; false as soon as a first stage returns false.</summary>
    public static bool RunInterleaved(int stages, Func<int, bool> first, Action<int> second)
    {
        Check(stages, first, second);
        for (var piece = 0; piece < stages; piece++)
        {
            if (!first(piece))
            {
                return false;
            }

            second(piece);
        }

        return true;
    }

    /// <summary>Checks a pipeline's arguments (a host's implementation calls this first).</summary>
    public static void Check(int stages, Func<int, bool> first, Action<int> second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        ArgumentOutOfRangeException.ThrowIfNegative(stages);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stages, StagesMax);
    }
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
