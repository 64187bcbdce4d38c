using KeplerSim.Core;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Kernel;

/// <summary>Settings of one simulation run.</summary>
public sealed record SimulationOptions
{
    /// <summary>The root seed; every random choice of the run derives from it.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Network faults of every link (per-link overrides: <see cref="SimNetwork.SetLinkFaults"/>).</summary>
    public NetworkFaults Network { get; init; } = new();

    /// <summary>Disk faults of every node.</summary>
    public DiskFaults Disk { get; init; } = new();

    /// <summary>Clock faults of every node.</summary>
    public ClockFaults Clock { get; init; } = new();

    /// <summary>Probability that a buggify site is enabled for this run (then it fires 5 % of the time).</summary>
    public double BuggifySiteProbability { get; init; }

    /// <summary>Where JSON-lines trace goes, if anywhere.</summary>
    public Stream? TraceJsonLines { get; init; }

    /// <summary>Virtual wall-clock time at the start, microseconds since the Unix epoch (2026-01-01).</summary>
    public long StartWallMicroseconds { get; init; } = 1_767_225_600_000_000;

    /// <summary>
    /// The key every node seals its chunk files with at rest (a scenario's <c>cluster.encryption_at_rest</c>);
    /// null keeps them in plaintext. Handed to each node as the real node is handed ENCRYPTION_KEY.
    /// </summary>
    public Core.Storage.AtRestKey? AtRestKey { get; init; }

    /// <summary>A failure to plant in a supervised background task (tests only); none by default.</summary>
    public PlantedFailure? PlantedFailure { get; init; }
}

/// <summary>
/// A failure planted in a background task, for tests: the supervisor's test hook. Whenever
/// <paramref name="Node"/> (any node when null) starts the supervised task named <paramref name="Task"/> at or
/// after <paramref name="AfterMicroseconds"/> of virtual time, the task throws <see cref="PlantedFailureException"/>
/// as if its own code had. Never drawn from the seed and never a buggify site: a planted failure always fails the
/// run, which is what it exists to prove.
/// </summary>
public sealed record PlantedFailure(string? Node, string Task, long AfterMicroseconds = 0)
{
    internal bool Matches(string node, string task, long now) =>
        (Node is null || string.Equals(Node, node, StringComparison.Ordinal))
        && string.Equals(Task, task, StringComparison.Ordinal) && now >= AfterMicroseconds;
}

/// <summary>
/// The deterministic simulator kernel: one thread, one event queue ordered by (virtual time, sequence number),
/// one root seed. Nodes run protocol code through simulated implementations of every runtime seam.
/// </summary>
public sealed partial class Simulation : IDisposable
{
    private readonly PriorityQueue<SimEvent, EventKey> _queue = new(new EventKeyComparer());
    private readonly List<SimNode> _nodes = [];
    private readonly SortedDictionary<string, SimNode> _byName = new(StringComparer.Ordinal);
    private readonly int _threadId = Environment.CurrentManagedThreadId;
    private long _sequence;
    private volatile string? _foreignThread;
    private SimulationException? _failure;

    /// <summary>Creates an empty simulation.</summary>
    public Simulation(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Network.Validate();
        options.Disk.Validate();
        options.Clock.Validate();
        Options = options;
        Random = new DeterministicRandom(DeterministicRandom.Derive(options.Seed, "kernel"));
        Trace = new TraceRecorder(options.TraceJsonLines);
        Network = new SimNetwork(this, options.Network);
    }

    /// <summary>The run's options.</summary>
    public SimulationOptions Options { get; }

    /// <summary>The kernel's random stream (faults, latencies); nodes have their own.</summary>
    public DeterministicRandom Random { get; }

    /// <summary>The trace of the run.</summary>
    public TraceRecorder Trace { get; }

    /// <summary>
    /// What every node of the run shares instead of holding equal copies each (interned member names, ring
    /// layouts): immutable values, swapped only for equal ones, so no decision and no trace record changes.
    /// </summary>
    public Core.Runtime.SharedValues Shared { get; } = new();

    /// <summary>The simulated network fabric.</summary>
    public SimNetwork Network { get; }

    /// <summary>Virtual time now, microseconds since the start.</summary>
    public long Now { get; private set; }

    /// <summary>Events executed so far.</summary>
    public long EventsExecuted { get; private set; }

    /// <summary>The nodes, in the order they were added.</summary>
    public IReadOnlyList<SimNode> Nodes => _nodes;

    /// <summary>How often each buggify site fired in this run (coverage marks for tests).</summary>
    public SortedDictionary<string, int> BuggifyFired { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The failure that stopped the run, if any: an unexpected exception in a node's supervised background task
    /// or in one of its events. Sticky: once set, every further step throws it again.
    /// </summary>
    public SimulationException? Failure => _failure;

    /// <summary>The node executing right now, if any.</summary>
    internal SimNode? Current { get; private set; }

    /// <summary>Adds a node (not started) running the program the factory makes for each incarnation.</summary>
    public SimNode AddNode(string name, Func<NodeRuntime, INodeProgram> programFactory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_byName.ContainsKey(name))
        {
            throw new ArgumentException($"node '{name}' already exists");
        }

        var node = new SimNode(this, _nodes.Count, name, programFactory);
        _nodes.Add(node);
        _byName.Add(name, node);
        return node;
    }

    /// <summary>Index of the first outsider: far from every cluster node's (link and byte maps never collide).</summary>
    public const int OutsiderIndexBase = 1_000_000;

    private readonly List<SimNode> _outsiders = [];

    /// <summary>
    /// Adds an outsider: a process on the network (it sends and connects like a node, under the same faults) that
    /// is not part of the cluster. It is not in <see cref="Nodes"/>, so checkers, fault injection and the liveness
    /// phase never count it, and its protocol events are not traced as the cluster's.
    /// </summary>
    public SimNode AddOutsider(string name, Func<NodeRuntime, INodeProgram> programFactory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_byName.ContainsKey(name))
        {
            throw new ArgumentException($"node '{name}' already exists");
        }

        var node = new SimNode(this, OutsiderIndexBase + _outsiders.Count, name, programFactory) { IsOutsider = true };
        _outsiders.Add(node);
        _byName.Add(name, node);
        return node;
    }

    /// <summary>The outsiders added so far.</summary>
    public IReadOnlyList<SimNode> Outsiders => _outsiders;

    /// <summary>The node called <paramref name="name"/>, or null.</summary>
    public SimNode? FindNode(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Schedules a kernel-level action (a scenario step, a fault) after a delay.</summary>
    public void Schedule(long delayMicroseconds, Action action) =>
        Enqueue(Now + Math.Max(0, delayMicroseconds), null, 0, action);

    /// <summary>Runs events until virtual time reaches <paramref name="timeMicroseconds"/>.</summary>
    public void RunUntil(long timeMicroseconds)
    {
        while (_queue.TryPeek(out _, out var key) && key.Time <= timeMicroseconds)
        {
            Step();
        }

        Now = Math.Max(Now, timeMicroseconds);
    }

    /// <summary>Runs for <paramref name="durationMicroseconds"/> of virtual time.</summary>
    public void RunFor(long durationMicroseconds) => RunUntil(Now + durationMicroseconds);

    /// <summary>
    /// Runs until <paramref name="condition"/> holds (checked after every event) or the timeout passes; returns
    /// whether it held.
    /// </summary>
    public bool RunUntil(Func<bool> condition, long timeoutMicroseconds)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = Now + timeoutMicroseconds;
        while (!condition())
        {
            if (!_queue.TryPeek(out _, out var key) || key.Time > deadline)
            {
                Now = Math.Max(Now, deadline);
                return condition();
            }

            Step();
        }

        return true;
    }

    /// <summary>
    /// Like <see cref="RunUntil(Func{bool}, long)"/>, but checks <paramref name="condition"/> only every
    /// <paramref name="pollMicroseconds"/> of virtual time: for conditions too costly to evaluate after every event
    /// (liveness checks that walk every node's metadata and disk).
    /// </summary>
    public bool RunUntil(Func<bool> condition, long timeoutMicroseconds, long pollMicroseconds)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pollMicroseconds);
        var deadline = Now + timeoutMicroseconds;
        while (!condition())
        {
            if (Now >= deadline)
            {
                return false;
            }

            RunUntil(Math.Min(deadline, Now + pollMicroseconds));
        }

        return true;
    }

    /// <summary>Records a harness-level step in the trace.</summary>
    public void RecordStep(string detail) => Trace.Record(Now, "-", TraceKind.Step, detail);

    internal void Requeue(SimEvent ev) => _queue.Enqueue(ev, new EventKey(Now, _sequence++));

    internal void Enqueue(long time, SimNode? node, int epoch, Action action)
    {
        Invariant.That(time >= Now, "events cannot be scheduled in the past");
        _queue.Enqueue(new SimEvent(node, epoch, action), new EventKey(time, _sequence++));
    }

    internal void AssertOnKernelThread()
    {
        if (Environment.CurrentManagedThreadId != _threadId)
        {
            // Thrown on the foreign thread it may be swallowed; remember it so the kernel fails the run.
            _foreignThread ??= "simulated code ran on a foreign thread (a continuation escaped the node's context)";
            throw new InvariantViolationException(_foreignThread);
        }
    }

    internal void AssertRunning(SimNode node)
    {
        AssertOnKernelThread();
        Invariant.That(ReferenceEquals(Current, node), $"seam of {node.Name} used outside its logical thread");
    }

    /// <summary>
    /// A supervised task of <paramref name="node"/> failed: the run stops as a failure once the current event
    /// returns (the supervisor's handler must not throw: it runs inside the failed task).
    /// </summary>
    internal void TaskFailed(SimNode node, SupervisorFailure failure)
    {
        if (_failure is not null)
        {
            return;
        }

        var e = failure.Exception;
        _failure = new SimulationException($"background task '{failure.Task}' on node {node.Name} failed at " +
            $"{Seconds(Now)} (seed {Options.Seed}): {Describe(e)}", e)
        {
            Node = node.Name, Task = failure.Task, TimeMicroseconds = Now,
        };
        Trace.Record(Now, node.Name, TraceKind.TaskFailed, failure.Task + ": " + e.GetType().Name + ": " + e.Message);
    }

    private void ThrowIfFailed()
    {
        if (_foreignThread is { } violation)
        {
            throw new SimulationException(violation);
        }

        if (_failure is { } failure)
        {
            throw failure;
        }
    }

    private static string Seconds(long microseconds) =>
        (microseconds / 1e6).ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture) + " s";

    /// <summary>Type, message and the innermost frame, so a report line points at the code that threw.</summary>
    private static string Describe(Exception e)
    {
        var frame = e.StackTrace?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault();
        return $"{e.GetType().Name}: {e.Message}" + (frame is null ? "" : $" ({frame})");
    }

    private void Step()
    {
        ThrowIfFailed();

        _queue.TryDequeue(out var ev, out var key);
        Now = key.Time;
        EventsExecuted++;
        var node = ev.Node;
        if (node is null)
        {
            ev.Action();
            ThrowIfFailed(); // A harness action may run node code (a start); its failure stops the run too.
            return;
        }

        if (ev.Epoch != node.Epoch || node.State == SimNodeState.Down)
        {
            return; // An event of a crashed incarnation: it died with the node.
        }

        if (node.State == SimNodeState.Paused)
        {
            node.Backlog.Add(ev);
            return;
        }

        RunOn(node, ev.Action);
        ThrowIfFailed(); // At once: the event that failed is the run's last.
    }

    internal void RunOn(SimNode node, Action action)
    {
        var previousNode = Current;
        var previousContext = SynchronizationContext.Current;
        Current = node;
        SynchronizationContext.SetSynchronizationContext(node.Context);
        try
        {
            action();
        }
        catch (Exception e) when (e is not SimulationException)
        {
            // Node code let an exception escape an event (a timer callback, a continuation, an async void): a bug.
            // It stops the run like a failed background task, naming the node and the time.
            _failure ??= new SimulationException(
                $"an event of node {node.Name} threw at {Seconds(Now)} (seed {Options.Seed}): {Describe(e)}", e)
            {
                Node = node.Name, TimeMicroseconds = Now,
            };
            throw _failure;
        }
        finally
        {
            Current = previousNode;
            SynchronizationContext.SetSynchronizationContext(previousContext);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var node in _nodes.Concat(_outsiders))
        {
            node.DisposeResources();
        }

        Trace.Dispose();
    }

    private readonly record struct EventKey(long Time, long Sequence);

    internal readonly record struct SimEvent(SimNode? Node, int Epoch, Action Action);

    private sealed class EventKeyComparer : IComparer<EventKey>
    {
        public int Compare(EventKey x, EventKey y)
        {
            var byTime = x.Time.CompareTo(y.Time);
            return byTime != 0 ? byTime : x.Sequence.CompareTo(y.Sequence);
        }
    }
}
