using System.Diagnostics;
using KeplerSim.Core;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// The state of one scenario run: the simulation, the timeline steps, the workloads, the checkers. Single
/// threaded: everything runs on the kernel's thread (file operations on their node's logical thread).
/// </summary>
internal sealed partial class ScenarioRun : IDisposable
{
    private const int TimelineMax = 500;
    private const long ConvergePollMicroseconds = 100_000;
    private const long WaitPollMicroseconds = 50_000;
    private const string OperationsSettled = "client_operations_settled";

    private readonly Scenario _scenario;
    private readonly ulong _seed;
    private readonly Simulation _sim;
    private readonly ProtocolRegistration _protocol;
    private readonly ProtocolRunState _runState = new();
    private readonly FileLedger _ledger = new();
    private readonly CheckContext _context;
    private readonly List<TimelineEntry> _timeline = [];
    private readonly List<Expectation> _expectations = [];
    private readonly SortedDictionary<string, (long Time, string Detail)> _safetyViolations =
        new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<string> _invariants;
    private FaultInjector? _chaos;
    private OutsiderAttack? _outsider;
    private long _timelineOmitted;
    private long _firstCorruptionAt = -1;
    private long _firstDetectionAt = -1;
    private long? _convergedAfter;
    private bool _finished;

    public ScenarioRun(Scenario scenario, ulong seed, Stream? traceJsonLines, PlantedFailure? plant = null)
    {
        _scenario = scenario;
        _seed = seed;
        _protocol = ProtocolRegistry.Find(scenario.Cluster.Protocol) ?? throw new ScenarioException(
            $"{scenario.File}: protocol {scenario.Cluster.Protocol} is not available yet (it is named in " +
            "cluster.protocol; check accepts the file, but run needs the protocol registered)");
        _sim = new Simulation(new SimulationOptions
        {
            Seed = seed,
            Network = scenario.Network.ToFaults(),
            Disk = scenario.Disk.ToFaults(),
            Clock = scenario.Clock.ToFaults(),
            BuggifySiteProbability = scenario.Chaos.Buggify,
            TraceJsonLines = traceJsonLines,
            PlantedFailure = plant,
            AtRestKey = scenario.Cluster.EncryptionAtRest ? AtRestKeyOf(seed) : null,
        });
        _context = new CheckContext(_sim, scenario.Cluster.ToKeplerOptions(), _ledger)
        {
            MembershipView = _protocol.MembershipView,
            SeedsOf = scenario.Cluster.Membership == MembershipMode.Swim
                ? node => scenario.Cluster.SeedNodes().Where(s => s != node).ToList()
                : _ => [],
        };
        _invariants = scenario.Expect.Invariants ?? InvariantCatalog.Names;
        _sim.Trace.Recorded += OnRecord;
        AttachEventCheckers();
    }

    /// <summary>The run's at-rest key: derived from its seed, like every other choice of the run.</summary>
    private static Core.Storage.AtRestKey AtRestKeyOf(ulong seed)
    {
        var random = new Core.Runtime.DeterministicRandom(Core.Runtime.DeterministicRandom.Derive(seed, "at-rest-key"));
        Span<byte> key = stackalloc byte[Core.Storage.AtRestKey.KeySizeBytes];
        random.NextBytes(key);
        return new Core.Storage.AtRestKey(key);
    }

    public RunResult Execute(IReadOnlyList<string>? swarmChoices)
    {
        var wall = Stopwatch.StartNew();
        Setup();
        try
        {
            if (MeasureFromMicroseconds is { } from && from > 0 && from < _scenario.Duration.Microseconds)
            {
                _sim.RunUntil(from); // The same run: the queue stops at `from` and goes on from there.
                _trafficAtMeasureStart = Traffic();
            }

            _sim.RunUntil(_scenario.Duration.Microseconds);
            _trafficAtTimelineEnd = Traffic();
            _sim.RecordStep("liveness phase");
            AddTimeline("liveness phase: every fault healed");
            Heal();
            Liveness();
        }
        catch (Exception e) when (e is SimulationException or InvariantViolationException)
        {
            Fail("simulation", $"the run stopped at {Seconds(_sim.Now)}: {e.GetType().Name}: {e.Message}" +
                (e.InnerException is { } inner ? $" ({inner.GetType().Name}: {inner.Message})" : ""));
        }

        _finished = true;
        var storage = _protocol.Capabilities.HasFlag(ProtocolCapabilities.Files) ? StorageLines() : [];
        SafetyCheck();
        EvaluateSafety();
        EvaluateSteps();
        var metrics = CollectMetrics(wall.Elapsed.TotalSeconds);
        EvaluateBounds(metrics);
        _sim.RecordStep("end");
        return new RunResult
        {
            Scenario = _scenario.Name, File = _scenario.File, Protocol = _scenario.Cluster.Protocol,
            Nodes = _sim.Nodes.Count, Seed = _seed, SwarmChoices = swarmChoices, TraceHash = _sim.Trace.Hash,
            TraceRecords = _sim.Trace.Count, EventsExecuted = _sim.EventsExecuted,
            VirtualMicroseconds = _sim.Now, WallSeconds = wall.Elapsed.TotalSeconds,
            FaultCounts = _chaos?.Counts ?? [], Timeline = _timeline, TimelineOmitted = _timelineOmitted,
            Expectations = _expectations, Metrics = metrics, Storage = storage, Detections = DetectionLines(),
        };
    }

    private void Setup()
    {
        var names = _scenario.Cluster.NodeNames();
        var ids = names.Select(n => new NodeId(n)).ToList();
        var initial = _scenario.Cluster.InitialNodes().Select(n => new NodeId(n)).ToList();
        var options = _scenario.Cluster.ToKeplerOptions();
        var keys = _runState.GetOrAdd(SimClusterKeys.RunStateKey,
            () => new SimClusterKeys(_seed, _scenario.Cluster.ClusterKey));
        if (_scenario.Steps.Any(s => s.Kind == StepKind.Outsider))
        {
            // From the start, so the outsider has the cluster's datagrams to replay.
            _outsider = new OutsiderAttack(_sim, _scenario.Cluster, keys, _ledger, _seed);
        }

        foreach (var name in names)
        {
            _sim.AddNode(name, runtime => _protocol.Factory(
                new ProtocolContext(runtime, _scenario.Cluster, ids, initial, options, _runState)));
        }

        foreach (var name in _scenario.Cluster.InitialNodes())
        {
            _sim.FindNode(name)!.Start();
        }

        foreach (var step in _scenario.Steps)
        {
            _sim.Schedule(step.At.Microseconds, () => RunStep(step));
        }

        foreach (var workload in _scenario.Workloads)
        {
            StartWorkload(workload);
        }

        _sim.Schedule(_scenario.Expect.CheckInterval.Microseconds, SafetyTick);
        _chaos = new FaultInjector(_sim, _scenario.Chaos.ToOptions());
        PlantNondeterminism();
    }

    private void SafetyTick()
    {
        if (_finished)
        {
            return;
        }

        SafetyCheck();
        _sim.Schedule(_scenario.Expect.CheckInterval.Microseconds, SafetyTick);
    }

    private void SafetyCheck()
    {
        foreach (var name in Declared(InvariantPhase.Safety))
        {
            if (!_safetyViolations.ContainsKey(name) && InvariantChecks.Check(name, _context) is { } violation)
            {
                _safetyViolations[name] = (_sim.Now, violation);
                AddTimeline($"VIOLATION {name}: {violation}");
            }
        }
    }

    /// <summary>Declared invariants of a phase that can be checked for this protocol.</summary>
    private IEnumerable<string> Declared(InvariantPhase phase) => _invariants.Where(name =>
    {
        var info = InvariantCatalog.Get(name);
        return info.Phase == phase && NotApplicable(info) is null;
    });

    private string? NotApplicable(InvariantInfo info) =>
        InvariantCatalog.NotApplicableReason(info, _protocol.Capabilities, _protocol.Name);

    /// <summary>Heals every fault: stops the injector, restores the file's network and disk profile.</summary>
    private void Heal()
    {
        _chaos!.Stop();
        foreach (var node in _sim.Nodes.Where(n => _context.Stopped.Contains(n.Name) && n.State != SimNodeState.Down))
        {
            node.Crash(); // FaultInjector.Stop restarts every crashed node; a stopped one stays down.
        }

        _sim.Network.Defaults = _scenario.Network.ToFaults();
        foreach (var (from, to) in _linkOverrides)
        {
            _sim.Network.SetLinkFaults(from, to, null);
        }

        _sim.Network.Heal();
        foreach (var node in _sim.Nodes)
        {
            node.Disk.Faults = _scenario.Disk.ToFaults();
        }
    }

    private void Liveness()
    {
        var checks = Declared(InvariantPhase.Liveness).Where(n => n != InvariantCatalog.AcknowledgedWritesReadable)
            .ToList();
        var start = _sim.Now;
        var deadline = start + _scenario.Expect.ConvergeWithin.Microseconds;
        _context.LivenessDeadline = deadline;
        var last = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        string? failedLast = null;
        while (true)
        {
            // Client operations still running (queued on a paused node, waiting for durability) change the state the
            // final reads judge: converged means they have finished too.
            last[OperationsSettled] = PendingOperations();
            var held = last[OperationsSettled] is null;
            var atDeadline = _sim.Now >= deadline;

            // A poll ends at its first failing check (the one that failed the poll before goes first): the rest are
            // looked at once everything before them holds, and all of them at the deadline for the report. The same
            // poll converges as when every check ran at every poll (each check reads only the present state), at a
            // fraction of the reads: every check reading 1000 nodes' metadata every 100 ms was most of the 77 CPU s
            // cluster-1000 spent in its 9 virtual s of liveness phase (docs/BENCHMARKS.md).
            foreach (var name in checks.OrderBy(n => n == failedLast ? 0 : 1))
            {
                if (!held && !atDeadline)
                {
                    break;
                }

                last[name] = InvariantChecks.Check(name, _context);
                if (last[name] is not null)
                {
                    held = false;
                    failedLast = name;
                }
            }

            if (held)
            {
                _convergedAfter = _sim.Now - start;
                AddTimeline($"converged after {Seconds(_convergedAfter.Value)}");
                break;
            }

            if (atDeadline)
            {
                AddTimeline($"not converged within {_scenario.Expect.ConvergeWithin}");
                break;
            }

            _sim.RunFor(ConvergePollMicroseconds);
        }

        _expectations.Add(PhaseVerdicts.Converged(_scenario.Expect.ConvergeWithin, _convergedAfter, last));
        foreach (var name in _invariants.Where(n => InvariantCatalog.Get(n).Phase == InvariantPhase.Liveness))
        {
            var info = InvariantCatalog.Get(name);
            if (NotApplicable(info) is { } reason)
            {
                _expectations.Add(new Expectation(name, ExpectationStatus.NotApplicable, reason));
            }
            else if (name == InvariantCatalog.AcknowledgedWritesReadable)
            {
                _expectations.Add(CheckAcknowledgedReads());
            }
            else
            {
                _expectations.Add(PhaseVerdicts.Liveness(name, last[name]));
            }
        }
    }

    private void EvaluateSafety()
    {
        foreach (var name in _invariants.Where(n => InvariantCatalog.Get(n).Phase == InvariantPhase.Safety))
        {
            _expectations.Add(PhaseVerdicts.Safety(name, NotApplicable(InvariantCatalog.Get(name)),
                _safetyViolations.TryGetValue(name, out var v) ? v : null,
                $" (checked every {_scenario.Expect.CheckInterval})"));
        }
    }

    private void OnRecord(TraceRecord record)
    {
        ObserveDetection(record);
        switch (record.Kind)
        {
            case TraceKind.Protocol:
                var kind = record.Detail is { } d && d.IndexOf(' ', StringComparison.Ordinal) is var space and > 0
                    ? d[..space]
                    : record.Detail ?? "";
                Count("events." + kind);
                if (_firstDetectionAt < 0 && _firstCorruptionAt >= 0 && kind is "chunk.corrupt" or "scrub.found")
                {
                    _firstDetectionAt = record.TimeMicroseconds;
                }

                break;
            case TraceKind.Corruption when record.Detail is { } path:
                var file = path[(path.LastIndexOf('/') + 1)..];
                if (file.Length >= 64)
                {
                    _context.KnownCorrupt.Add((record.Node, file[..64]));
                }

                _context.Inspector.Invalidate(record.Node, path);
                _firstCorruptionAt = _firstCorruptionAt < 0 ? record.TimeMicroseconds : _firstCorruptionAt;
                AddTimeline($"{record.Node}: corruption {path}", record.TimeMicroseconds);
                break;
            case TraceKind.NodeCrashed or TraceKind.NodeStarted or TraceKind.NodePaused or TraceKind.NodeResumed:
                AddTimeline($"{record.Node}: {record.Kind.ToString()[4..].ToLowerInvariant()}",
                    record.TimeMicroseconds);
                break;
            case TraceKind.Partition:
                AddTimeline($"partition {record.Detail}", record.TimeMicroseconds);
                break;
            case TraceKind.ClockJump:
                AddTimeline($"{record.Node}: clock {(record.Detail == "set" ? "set" : "jump")} {record.A}us",
                    record.TimeMicroseconds);
                break;
        }
    }

    private void AddTimeline(string text, long? time = null)
    {
        if (_timeline.Count >= TimelineMax)
        {
            _timelineOmitted++;
            return;
        }

        _timeline.Add(new TimelineEntry(time ?? _sim.Now, text));
    }

    private void Count(string name, long by = 1)
    {
        _counters.TryGetValue(name, out var value);
        _counters[name] = value + by;
    }

    private void Fail(string name, string detail) =>
        _expectations.Add(new Expectation(name, ExpectationStatus.Fail, detail));

    internal static string Seconds(long microseconds) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{microseconds / 1e6:0.###}s");

    public void Dispose() => _sim.Dispose();
}
