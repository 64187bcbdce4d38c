namespace KeplerSim.Core.Runtime;

/// <summary>
/// A supervised background task let an exception escape. Its owner handles every condition it expects (I/O
/// errors, timeouts, unreachable peers, hostile input, durability not met); what escapes is a bug or a state the
/// code does not understand, so the node must not run on.
/// </summary>
/// <param name="Node">The node that ran the task.</param>
/// <param name="Task">The task's name, such as <c>replication.deliver</c>.</param>
/// <param name="Exception">What escaped.</param>
public sealed record SupervisorFailure(NodeId Node, string Task, Exception Exception)
{
    /// <summary>One line for logs and reports: task, node, exception type and message.</summary>
    public override string ToString() =>
        $"background task '{Task}' on node {Node} failed: {Exception.GetType().Name}: {Exception.Message}";
}

/// <summary>
/// Owns every background task of one node incarnation: work started on the node's logical thread and not awaited
/// by its starter (a served connection, a replication delivery, a scrub step). Each task runs under a stable name;
/// an exception that escapes it is reported to the host, which ends the run (simulator) or the process (real
/// node). No task in core is discarded with <c>_ = XAsync()</c>: it goes through <see cref="Run"/>.
/// </summary>
/// <remarks>
/// Like all of core, not thread-safe: <see cref="Run"/> is called on the node's logical thread, and the task's
/// first part runs inline there, exactly as a discarded call would, so supervising adds no event and changes no
/// ordering. After <see cref="Stop"/> (an orderly shutdown) resources go away under running tasks; what escapes
/// then is expected and not reported.
/// </remarks>
public sealed class Supervisor
{
    /// <summary>The longest task name.</summary>
    public const int TaskNameLengthMax = 64;

    private readonly Action<SupervisorFailure> _onFailure;
    private readonly Func<string, Exception?>? _plant;

    /// <summary>
    /// Creates the supervisor of <paramref name="node"/>. <paramref name="onFailure"/> runs on the node's logical
    /// thread with each unexpected failure and must not throw. <paramref name="plant"/> is a test hook (the
    /// simulator's planted failures): consulted as each task starts, an exception it returns is thrown inside the
    /// task as if the task's own code had thrown it. A real node passes none.
    /// </summary>
    public Supervisor(NodeId node, Action<SupervisorFailure> onFailure, Func<string, Exception?>? plant = null)
    {
        ArgumentNullException.ThrowIfNull(onFailure);
        Node = node;
        _onFailure = onFailure;
        _plant = plant;
    }

    /// <summary>The node whose tasks this supervises.</summary>
    public NodeId Node { get; }

    /// <summary>Tasks started so far.</summary>
    public long Started { get; private set; }

    /// <summary>Tasks started and not yet ended.</summary>
    public long Running { get; private set; }

    /// <summary>Tasks that failed unexpectedly (reported to the host).</summary>
    public long Failed { get; private set; }

    /// <summary>Whether the node is shutting down (see <see cref="Stop"/>).</summary>
    public bool IsStopped { get; private set; }

    /// <summary>
    /// Starts <paramref name="work"/> now, inline, under <paramref name="name"/> (lower-case, dotted:
    /// <c>area.what</c>; stable, so logs, metrics and tests can name it).
    /// </summary>
    public void Run(string name, Func<Task> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Invariant.That(IsValidName(name), $"task name '{name}' is not lower-case dotted words");
        Started++;
        Running++;
        // The one discard in core: SuperviseAsync catches everything, so its task never faults.
        _ = SuperviseAsync(name, work);
    }

    /// <summary>
    /// Marks an orderly shutdown: the host is about to dispose the node's resources, so failures of tasks still
    /// running (cancelled operations, disposed connections and databases) are expected from now on.
    /// </summary>
    public void Stop() => IsStopped = true;

    /// <summary>Whether <paramref name="name"/> is a valid task name: dotted words of a-z, 0-9 and '_'.</summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= TaskNameLengthMax && name[0] is >= 'a' and <= 'z'
        && name[^1] != '.' && !name.Contains("..", StringComparison.Ordinal)
        && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_');

    private async Task SuperviseAsync(string name, Func<Task> work)
    {
        try
        {
            if (_plant?.Invoke(name) is { } planted)
            {
                throw planted;
            }

            await work();
        }
        catch (Exception e) when (!IsStopped)
        {
            Failed++;
            _onFailure(new SupervisorFailure(Node, name, e));
        }
        catch (Exception)
        {
            // Shutting down: the node's resources are going away under the task; nothing is in doubt.
        }
        finally
        {
            Running--;
        }
    }
}
