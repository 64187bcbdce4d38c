using System.Diagnostics;
using System.Globalization;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Real;

/// <summary>
/// Runs a scenario file against real <c>kepler-node</c> processes: the file's timeline and workloads in wall-clock
/// time (0 = every initial node ready), faults as signals, routes and file damage, then the liveness phase and the
/// checkers over the nodes' real metadata and chunk files. Everything it creates (processes, namespaces, the run
/// directory on a pass) is removed on dispose; <see cref="RealRunner"/> also disposes on Ctrl-C and SIGTERM.
/// </summary>
internal sealed partial class RealScenarioRun : IAsyncDisposable
{
    private const int TimelineMax = 500;
    private const long ConvergePollMicroseconds = 500_000;
    private const long WaitPollMicroseconds = 200_000;
    private const int HoldPollMilliseconds = 20;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(90);

    private readonly Scenario _scenario;
    private readonly ulong _seed;
    private readonly RealOptions _options;
    private readonly Lock _gate = new();
    private readonly FileLedger _ledger = new();
    private readonly List<TimelineEntry> _timeline = [];
    private readonly List<Expectation> _expectations = [];
    private readonly List<Expectation> _notApplicable = [];
    private readonly SortedDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, RealNode> _nodes = new(StringComparer.Ordinal);
    private readonly List<string> _names;
    private readonly List<ICheckedNode> _checkedNodes = [];
    private readonly CheckedCluster _cluster;
    private readonly PriorityQueue<Func<Task>, (long Time, long Sequence)> _agenda = new();
    private readonly List<Task> _background = [];
    private readonly CancellationTokenSource _cancel = new();
    private readonly Stopwatch _clock = new();
    private readonly HttpClient _http;
    private readonly RealInspector _inspector;
    private NetworkLab? _lab;
    private string? _labUnavailable;
    private long _sequence;
    private long _timelineOmitted;
    private long? _convergedAfter;
    private int _startsHolding;
    private long _holdSince;
    private long _heldMicroseconds;
    private bool _finished;
    private bool _disposed;

    public RealScenarioRun(Scenario scenario, ulong seed, RealOptions options)
    {
        _scenario = scenario;
        _seed = seed;
        _options = options;
        _names = [.. scenario.Cluster.NodeNames()];
        RunDirectory = Path.Combine(options.RunsRoot, string.Create(CultureInfo.InvariantCulture,
            $"{scenario.Name}-{seed}-{DateTime.UtcNow:yyyyMMddHHmmss}-{Environment.ProcessId}"));
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(3),
            PooledConnectionLifetime = TimeSpan.FromSeconds(2), // Nodes restart: never reuse a dead connection long.
            MaxConnectionsPerServer = 64,
        }) { Timeout = RequestTimeout };
        _inspector = new RealInspector(scenario.Cluster.EncryptionAtRest ? RealKeys.AtRestKey(seed) : null);

        // The options the nodes run (RealNodeSettings passes the file's knobs: virtual nodes, gc grace, factor).
        _cluster = new CheckedCluster(() => _checkedNodes, () => Now, scenario.Cluster.ToKeplerOptions(), _ledger)
        {
            MembershipView = n => n is RealCheckedNode real ? real.Ring : null,
        };
    }

    /// <summary>The run's directory: one data directory per node.</summary>
    public string RunDirectory { get; }

    /// <summary>Cancels the run (Ctrl-C): every wait ends, dispose cleans up.</summary>
    public void Cancel() => _cancel.Cancel();

    /// <summary>Wall-clock microseconds since the timeline started (the ledger's and the report's times).</summary>
    private long Now => (long)(_clock.Elapsed.TotalMilliseconds * 1000);

    /// <summary>
    /// Timeline microseconds: <see cref="Now"/> less the time the timeline was held while nodes it started were
    /// starting. A simulated start takes no time, a real one seconds (JIT, SQLite, join; 5-17 s under load here),
    /// so steps, workload arrivals and <c>wait_until</c> bounds run on this clock, which stands still while a
    /// <c>start</c>, <c>restart</c> or <c>restart_after</c> start is under way: "1.5 s after the restart" means
    /// 1.5 s after the node answers, as in the simulator. The nodes themselves run on: peers still suspect and
    /// declare the starting node dead, re-replicate and gossip in real time.
    /// </summary>
    private long TimelineNow
    {
        get
        {
            lock (_gate)
            {
                var now = Now;
                return now - HeldMicroseconds(now);
            }
        }
    }

    /// <summary>How long starts have held the timeline up to <paramref name="now"/> (call under <c>_gate</c>).
    /// </summary>
    private long HeldMicroseconds(long now) => _heldMicroseconds + (_startsHolding > 0 ? now - _holdSince : 0);


    private CancellationToken Token => _cancel.Token;

    public async Task<RunResult> ExecuteAsync()
    {
        var wall = Stopwatch.StartNew();
        try
        {
            await SetupAsync();
            foreach (var step in _scenario.Steps)
            {
                // At its absolute time: steps due at the same time run in file order, as simulated.
                ScheduleAt(step.At.Microseconds, () => RunStepAsync(step));
            }

            foreach (var workload in _scenario.Workloads)
            {
                StartWorkload(workload);
            }

            Schedule(_scenario.Expect.CheckInterval.Microseconds, SafetyTickAsync);
            await RunAgendaUntilAsync(_scenario.Duration.Microseconds);
            AddTimeline("liveness phase: every fault healed");
            await HealAllAsync();
            await LivenessAsync();
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException
            && !Token.IsCancellationRequested)
        {
            Fail("real run", $"the run stopped at {ScenarioRun.Seconds(Now)}: {e.GetType().Name}: {e.Message}");
        }

        _finished = true;
        SafetyCheck();
        EvaluateSafety();
        EvaluateSteps();
        var metrics = CollectMetrics(wall.Elapsed.TotalSeconds);
        EvaluateBounds(metrics);
        return new RunResult
        {
            Scenario = _scenario.Name, File = _scenario.File, Protocol = _scenario.Cluster.Protocol,
            Nodes = _names.Count, Seed = _seed, TraceHash = "none (real mode)", TraceRecords = 0, EventsExecuted = 0,
            VirtualMicroseconds = Now, WallSeconds = wall.Elapsed.TotalSeconds,
            FaultCounts = new SortedDictionary<string, int>(StringComparer.Ordinal),
            Timeline = _timeline, TimelineOmitted = _timelineOmitted,
            Expectations = [.. _notApplicable, .. _expectations], Metrics = metrics, Storage = StorageLines(),
            RealMode = Mode(),
        };
    }

    private string Mode() => _lab is { } lab
        ? $"real: {_names.Count} kepler-node processes in network namespaces {lab.Prefix}n* (bridge {lab.Bridge}), " +
          $"data under {RunDirectory}"
        : $"real on loopback ({_labUnavailable}): {_names.Count} kepler-node processes, data under {RunDirectory}";

    private async Task SetupAsync()
    {
        if (!_scenario.Cluster.Protocol.Equals("keplerfs", StringComparison.Ordinal))
        {
            throw new ScenarioException($"{_scenario.File}: real mode runs keplerfs scenarios only (cluster.protocol " +
                $"is {_scenario.Cluster.Protocol})");
        }

        Directory.CreateDirectory(RunDirectory);
        _lab = _options.Loopback ? null : NetworkLab.TryCreate(out _labUnavailable);
        _labUnavailable ??= _options.Loopback ? "--loopback" : null;
        var specs = new List<RealNodeSpec>();
        for (var i = 0; i < _names.Count; i++)
        {
            _lab?.AddNode(i);
            var dataDir = Path.Combine(RunDirectory, _names[i]);
            specs.Add(_lab is { } lab
                ? new RealNodeSpec(_names[i], lab.NodeAddress(i), 3000, 4000, 5000, dataDir, lab.NamespaceOf(i))
                : new RealNodeSpec(_names[i], "127.0.0.1", FreePorts.Next(), FreePorts.Next(), FreePorts.Next(),
                    dataDir, null));
        }

        var settings = new RealNodeSettings(_scenario, _seed, _lab is not null);
        foreach (var note in settings.Differences)
        {
            _notApplicable.Add(new Expectation("real-mode setting", ExpectationStatus.NotApplicable, note));
        }

        CreateEventCheckers();
        NoteNetworkAndChaos();
        foreach (var spec in specs)
        {
            _nodes[spec.Name] = new RealNode(spec, _options.Binary, settings.Environment(spec, specs));
            _checkedNodes.Add(new RealCheckedNode(_nodes[spec.Name], _inspector));
        }

        SetUpTestFaults();

        var initial = _scenario.Cluster.InitialNodes();
        await Task.WhenAll(initial.Select(n => _nodes[n].StartAsync(_http, _options.StartTimeout, Token)));
        var joined = await AwaitJoinedAsync(initial);
        var followed = await FollowInitialAsync(initial);
        _clock.Start();
        AddTimeline($"{initial.Count} node(s) ready, {joined}, {followed}; timeline starts");
    }

    /// <summary>
    /// Waits (bounded by the start timeout) until every initial node's ring holds exactly the initial nodes and each
    /// has finished its join: real starts are staggered over seconds, simulated ones are not, so time 0 is a joined
    /// cluster. Says what it saw.
    /// </summary>
    private async Task<string> AwaitJoinedAsync(IReadOnlyList<string> initial)
    {
        var expected = string.Join(",", initial.Order(StringComparer.Ordinal));
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < _options.StartTimeout)
        {
            var rings = await Task.WhenAll(initial.Select(n => RingOfAsync(_nodes[n])));
            if (rings.All(r => r == expected))
            {
                // And every node's join sync done: a ring can list every node before that, and until then a node
                // with seeds refuses all/quorum (a put at 0.1 s was refused in CI: RealCheckerBitesTests).
                var joins = await Task.WhenAll(initial.Select(n => AwaitJoinAsync(_nodes[n])));
                var joined = joins.All(j => j is not null) ? "every node joined"
                    : "a join not done within the start timeout";
                return string.Create(CultureInfo.InvariantCulture,
                    $"every ring [{expected}] after {clock.Elapsed.TotalSeconds:0.0}s, {joined}");
            }

            await Task.Delay(100, Token);
        }

        return $"rings not all [{expected}] within {_options.StartTimeout.TotalSeconds} s";
    }

    /// <summary>Whether a start holds the timeline now.</summary>
    private bool HoldsTimeline
    {
        get
        {
            lock (_gate)
            {
                return _startsHolding > 0;
            }
        }
    }

    private void Schedule(long delayMicroseconds, Func<Task> action) =>
        ScheduleAt(TimelineNow + Math.Max(0, delayMicroseconds), action);

    private void ScheduleAt(long timelineMicroseconds, Func<Task> action) =>
        _agenda.Enqueue(action, (timelineMicroseconds, _sequence++));

    /// <summary>Runs agenda entries due before <paramref name="end"/> at their timeline time, then waits until
    /// <paramref name="end"/>. While a start holds the timeline its clock stands still: entries due at that same
    /// instant still run (two nodes crashed together restart together), later ones wait.</summary>
    private async Task RunAgendaUntilAsync(long end)
    {
        while (!Token.IsCancellationRequested)
        {
            var due = _agenda.TryPeek(out _, out var key) && key.Time <= end ? key.Time : end;
            if (due > TimelineNow)
            {
                // Wakes early, never late, if a hold starts meanwhile (the timeline runs no faster than wall); while
                // one holds, polls for its end.
                await Task.Delay(HoldsTimeline ? TimeSpan.FromMilliseconds(HoldPollMilliseconds)
                    : TimeSpan.FromMilliseconds(Math.Max(1, (due - TimelineNow) / 1000.0)), Token);
                continue;
            }

            if (due == end && !(_agenda.TryPeek(out _, out key) && key.Time <= end))
            {
                return;
            }

            await _agenda.Dequeue()();
        }

        Token.ThrowIfCancellationRequested();
    }

    private void AddTimeline(string text)
    {
        lock (_gate)
        {
            if (_timeline.Count >= TimelineMax)
            {
                _timelineOmitted++;
                return;
            }

            _timeline.Add(new TimelineEntry(Now, text));
        }
    }

    private void Count(string name, long by = 1)
    {
        lock (_gate)
        {
            _counters.TryGetValue(name, out var value);
            _counters[name] = value + by;
        }
    }

    private void Fail(string name, string detail)
    {
        lock (_gate)
        {
            _expectations.Add(new Expectation(name, ExpectationStatus.Fail, detail));
        }
    }

    /// <summary>The file's network profile on every link (netem), or a difference saying why not; the random
    /// fault injector (<c>chaos</c>) has no real counterpart.</summary>
    private void NoteNetworkAndChaos()
    {
        var why = _lab is null ? $"this run is on loopback ({_labUnavailable})" : _lab.NetemUnavailable;
        if (why is null)
        {
            for (var i = 0; i < _names.Count; i++)
            {
                _lab!.Shape(i, NetemArguments(_scenario.Network));
            }

            _truth!.ShapeLinks(_scenario.Network.Loss);
        }
        else
        {
            var n = _scenario.Network;
            _notApplicable.Add(new Expectation("real-mode setting", ExpectationStatus.NotApplicable,
                $"network profile (latency {n.LatencyMin}..{n.LatencyMax}, loss {n.Loss}, bandwidth " +
                $"{n.BandwidthMbps} Mbps) not applied: {why}; links are the host's"));
        }

        var c = _scenario.Chaos;
        if (c.CrashRate + c.PauseRate + c.PartitionRate + c.ClockJumpRate + c.CorruptionRate > 0)
        {
            _notApplicable.Add(new Expectation("real-mode setting", ExpectationStatus.NotApplicable,
                "chaos rates: real mode runs no random fault injector, only the timeline's faults"));
        }
    }

    /// <summary>Nodes that should be up: started at least once and not stopped (the checkers' members).</summary>
    private IReadOnlyList<RealNode> Members
    {
        get
        {
            lock (_checkGate)
            {
                return _cluster.Members.Cast<RealCheckedNode>().Select(n => n.Node).ToList();
            }
        }
    }

    /// <summary>Members running and not paused.</summary>
    private IReadOnlyList<RealNode> Live => Members.Where(n => n.Running && !n.Paused).ToList();

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _cancel.CancelAsync();
        if (_streams is not null)
        {
            await _streams.DisposeAsync();
        }

        foreach (var node in _nodes.Values)
        {
            node.Dispose();
        }

        try
        {
            await Task.WhenAll(_background).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or HttpRequestException)
        {
            // Cancelled work of killed nodes: nothing left to wait for.
        }

        _lab?.Dispose();
        _http.Dispose();
        _cancel.Dispose();
        var passed = _expectations.All(e => e.Status != ExpectationStatus.Fail);
        if ((passed || !_options.KeepFailedData) && !_options.KeepData && Directory.Exists(RunDirectory))
        {
            Directory.Delete(RunDirectory, recursive: true);
        }
    }
}
