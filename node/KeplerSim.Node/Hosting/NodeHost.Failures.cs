using KeplerSim.Core.Runtime;
using KeplerSim.Node.Logging;

namespace KeplerSim.Node.Hosting;

public sealed partial class NodeHost
{
    /// <summary>The name under which a work item that threw on the node's loop is counted.</summary>
    public const string LoopTaskName = "loop";

    private readonly Lock _failuresLock = new();
    private readonly SortedDictionary<string, long> _failures = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<string> _fatal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;

    /// <summary>
    /// Completes with the reason when a supervised background task, or a work item on the loop, failed
    /// unexpectedly. The node's state is then unknown: whoever runs the host must stop it (<c>serve</c> exits
    /// non-zero) rather than let it run on.
    /// </summary>
    public Task<string> Fatal => _fatal.Task;

    /// <summary>Unexpected failures so far by task name, in name order (for /metrics; any thread).</summary>
    public IReadOnlyList<KeyValuePair<string, long>> SupervisorFailures()
    {
        lock (_failuresLock)
        {
            return [.. _failures];
        }
    }

    private Supervisor CreateSupervisor() =>
        new(Config.NodeId, failure => Fail(failure.Task, failure.Exception));

    /// <summary>
    /// An unexpected failure: logged as fatal, counted, and <see cref="Fatal"/> completes. During an orderly
    /// stop resources go away under running work, so a failure then is expected and only logged at debug.
    /// </summary>
    private void Fail(string task, Exception exception)
    {
        if (_stopping)
        {
            _log.FailedWhileStopping(task, exception);
            return;
        }

        lock (_failuresLock)
        {
            _failures[task] = _failures.GetValueOrDefault(task) + 1;
        }

        _log.TaskFailed(task, exception);
        _fatal.TrySetResult($"{(task == LoopTaskName ? "a work item on the node's loop" : $"background task '{task}'")}"
            + $" failed: {exception.GetType().Name}: {exception.Message}");
    }
}
