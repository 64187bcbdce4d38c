using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Kernel;

/// <summary>Whether a simulated node is running.</summary>
public enum SimNodeState
{
    /// <summary>Not started, or crashed.</summary>
    Down,
    /// <summary>Processing events.</summary>
    Running,
    /// <summary>Alive but not processing: its events pile up until it resumes.</summary>
    Paused,
}

/// <summary>
/// One simulated machine: a disk, a metadata database and a clock that survive crashes, and a protocol program
/// whose volatile state dies with each crash.
/// </summary>
public sealed class SimNode
{
    /// <summary>Default gossip (datagram) port, as on a real node.</summary>
    public const int GossipPort = 4000;

    /// <summary>Default transfer (stream) port, as on a real node.</summary>
    public const int TransferPort = 5000;

    private readonly Simulation _sim;
    private readonly Func<NodeRuntime, INodeProgram> _programFactory;
    private EventPublisher? _events;

    internal SimNode(Simulation sim, int index, string name, Func<NodeRuntime, INodeProgram> programFactory)
    {
        _sim = sim;
        _programFactory = programFactory;
        Index = index;
        Name = name;
        Id = new NodeId(name);
        GossipAddress = new NetAddress(name, GossipPort);
        TransferAddress = new NetAddress(name, TransferPort);
        Clock = new SimClock(sim, this);
        Disk = new SimDisk(sim, this, sim.Options.Disk);
        Metadata = new SimMetadata(name);
        Context = new SimSynchronizationContext(sim, this, 0);
    }

    /// <summary>Not a cluster node: an outsider on the network (<see cref="Simulation.AddOutsider"/>).</summary>
    public bool IsOutsider { get; init; }

    /// <summary>Position in <see cref="Simulation.Nodes"/>.</summary>
    public int Index { get; }

    /// <summary>The node's name (also its id and host).</summary>
    public string Name { get; }

    /// <summary>The node's id.</summary>
    public NodeId Id { get; }

    /// <summary>Where its datagrams are sent.</summary>
    public NetAddress GossipAddress { get; }

    /// <summary>Where its streams connect.</summary>
    public NetAddress TransferAddress { get; }

    /// <summary>Running, paused or down.</summary>
    public SimNodeState State { get; private set; }

    /// <summary>Incarnation counter; bumps on every start and crash.</summary>
    public int Epoch { get; private set; }

    /// <summary>The node's clock (survives crashes).</summary>
    public SimClock Clock { get; }

    /// <summary>The node's disk (survives crashes, minus unsynced data).</summary>
    public SimDisk Disk { get; }

    /// <summary>The node's metadata database (committed transactions survive crashes).</summary>
    public SimMetadata Metadata { get; }

    /// <summary>The running program, or null when down.</summary>
    public INodeProgram? Program { get; private set; }

    /// <summary>The runtime handed to the current incarnation, or null when down.</summary>
    public NodeRuntime? Runtime { get; private set; }

    internal SimSynchronizationContext Context { get; private set; }

    internal List<Simulation.SimEvent> Backlog { get; } = [];

    internal Action<NetAddress, ReadOnlyMemory<byte>>? Receiver { get; set; }

    internal Action<IStreamConnection>? Acceptor { get; set; }

    /// <summary>Starts (or restarts after a crash) the node with a fresh program instance.</summary>
    public void Start()
    {
        if (State != SimNodeState.Down)
        {
            throw new InvalidOperationException($"node {Name} is already running");
        }

        Epoch++;
        State = SimNodeState.Running;
        Context = new SimSynchronizationContext(_sim, this, Epoch);
        _events = new EventPublisher();
        var events = _events;
        if (!IsOutsider)
        {
            // An outsider's own events (its writes, its view) are not the cluster's: checkers never see them.
            events.Stream.Subscribe(e => _sim.Trace.Record(_sim.Now, Name, TraceKind.Protocol, e.Kind + " " + e));
        }
        var random = new DeterministicRandom(DeterministicRandom.Derive(_sim.Options.Seed, $"node/{Name}/{Epoch}"));
        Runtime = new NodeRuntime(Id, Clock, random, new SimDatagramEndpoint(_sim, this),
            new SimStreamEndpoint(_sim, this), Disk, Metadata, events, new SimBuggify(_sim, random))
        {
            // Pure work (hashing, sealing) runs off the loop as on a real node: a seeded delay later, while the
            // node's other events go on.
            PureWork = new SimPureWork(_sim, this, random.Fork("pure-work")),
            AtRestKey = _sim.Options.AtRestKey,
            Shared = _sim.Shared,
            Supervisor = new Supervisor(Id, failure => _sim.TaskFailed(this, failure), PlantedFailureFor),
        };
        _sim.Trace.Record(_sim.Now, Name, TraceKind.NodeStarted, null, Epoch);
        var runtime = Runtime;
        _sim.RunOn(this, () =>
        {
            Program = _programFactory(runtime);
            ObserveFault(Program.StartAsync());
        });
    }

    /// <summary>
    /// Crashes the node: volatile state is gone, unsynced disk state is lost or torn, open SQLite transactions
    /// roll back, its streams break.
    /// </summary>
    public void Crash()
    {
        if (State == SimNodeState.Down)
        {
            return;
        }

        State = SimNodeState.Down;
        Epoch++;
        Backlog.Clear();
        Receiver = null;
        Acceptor = null;
        Program = null;
        Runtime = null;
        _events?.Dispose();
        _events = null;
        Metadata.CloseConnections();
        Disk.Crash(_sim.Random);
        _sim.Network.BreakStreamsOf(this, "peer crashed");
        _sim.Trace.Record(_sim.Now, Name, TraceKind.NodeCrashed, null, Epoch);
    }

    /// <summary>Crash, then start again from what the disk and database kept.</summary>
    public void Restart()
    {
        Crash();
        Start();
    }

    /// <summary>Stops processing; events (datagrams, timers, disk completions) pile up until <see cref="Resume"/>.</summary>
    public void Pause()
    {
        if (State != SimNodeState.Running)
        {
            return;
        }

        State = SimNodeState.Paused;
        _sim.Trace.Record(_sim.Now, Name, TraceKind.NodePaused, null);
    }

    /// <summary>Resumes a paused node; its backlog runs now, in order.</summary>
    public void Resume()
    {
        if (State != SimNodeState.Paused)
        {
            return;
        }

        State = SimNodeState.Running;
        _sim.Trace.Record(_sim.Now, Name, TraceKind.NodeResumed, null, Backlog.Count);
        foreach (var ev in Backlog)
        {
            _sim.Requeue(ev);
        }

        Backlog.Clear();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on this node's logical thread (at the current virtual time) and returns its
    /// task; drive the simulation until it completes. For tests and harness steps.
    /// </summary>
    public Task<T> Spawn<T>(Func<NodeRuntime, Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var runtime = Runtime ?? throw new InvalidOperationException($"node {Name} is down");
        var result = new TaskCompletionSource<T>();

        // Awaited inside the node's context, so the continuation comes back through the kernel's queue: a
        // ContinueWith on the default scheduler could run on a thread-pool thread and break determinism.
        async Task RunAsync()
        {
            try
            {
                result.TrySetResult(await work(runtime));
            }
            catch (OperationCanceledException)
            {
                result.TrySetCanceled();
            }
            catch (Exception e)
            {
                result.TrySetException(e);
            }
        }

        _sim.Enqueue(_sim.Now, this, Epoch, () => _ = RunAsync());
        return result.Task;
    }

    /// <summary>Runs <paramref name="work"/> on this node's logical thread; see <see cref="Spawn{T}"/>.</summary>
    public Task Spawn(Func<NodeRuntime, Task> work) => Spawn(async runtime =>
    {
        await work(runtime);
        return true;
    });

    internal void DisposeResources()
    {
        _events?.Dispose();
        Metadata.Dispose();
    }

    private Exception? PlantedFailureFor(string task) =>
        _sim.Options.PlantedFailure is { } plant && plant.Matches(Name, task, _sim.Now)
            ? new PlantedFailureException($"planted failure in {task} on {Name}")
            : null;

    private void ObserveFault(Task task)
    {
        // A faulted start is a protocol bug: surface it in the trace and fail the run loudly.
        if (task.IsFaulted)
        {
            throw new SimulationException($"node {Name} failed to start", task.Exception!.GetBaseException());
        }
    }
}

/// <summary>The simulation found a bug in the code under test (an escaped exception, a broken invariant).</summary>
public sealed class SimulationException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The node whose code failed, when one did.</summary>
    public string? Node { get; init; }

    /// <summary>The supervised background task that failed, when one did.</summary>
    public string? Task { get; init; }

    /// <summary>Virtual time of the failure, microseconds since the start.</summary>
    public long TimeMicroseconds { get; init; }
}

/// <summary>
/// A failure planted in a supervised task by <see cref="SimulationOptions.PlantedFailure"/> (tests only): it
/// proves that a background task's unexpected exception fails the run and names the task.
/// </summary>
public sealed class PlantedFailureException(string message) : Exception(message);

/// <summary>
/// Posts continuations of one node incarnation back onto the kernel's event queue at the current virtual time.
/// Continuations of a crashed incarnation are dropped.
/// </summary>
internal sealed class SimSynchronizationContext(Simulation sim, SimNode node, int epoch) : SynchronizationContext
{
    public override void Post(SendOrPostCallback d, object? state)
    {
        sim.AssertOnKernelThread();
        if (node.Epoch != epoch || node.State == SimNodeState.Down)
        {
            return;
        }

        sim.Enqueue(sim.Now, node, epoch, () => d(state));
    }

    public override void Send(SendOrPostCallback d, object? state)
    {
        sim.AssertRunning(node);
        d(state);
    }

    public override SynchronizationContext CreateCopy() => this;
}

/// <summary>Buggify in the simulator: a site is enabled per run by the seed, then fires 5 % of the time.</summary>
internal sealed class SimBuggify(Simulation sim, IRandom random) : IBuggify
{
    public bool Hit(string site)
    {
        var probability = sim.Options.BuggifySiteProbability;
        if (probability <= 0)
        {
            return false;
        }

        var enabled = new DeterministicRandom(DeterministicRandom.Derive(sim.Options.Seed, "buggify/" + site))
            .Chance(probability);
        var fired = enabled && random.Chance(0.05);
        if (fired)
        {
            sim.BuggifyFired.TryGetValue(site, out var count);
            sim.BuggifyFired[site] = count + 1;
        }

        return fired;
    }
}
