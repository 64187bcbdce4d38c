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

    private void Step()
    {
        if (_foreignThread is { } violation)
        {
            throw new SimulationException(violation);
        }

        _queue.TryDequeue(out var ev, out var key);
        Now = key.Time;
        EventsExecuted++;
        var node = ev.Node;
        if (node is null)
        {
            ev.Action();
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
        finally
        {
            Current = previousNode;
            SynchronizationContext.SetSynchronizationContext(previousContext);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var node in _nodes)
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
