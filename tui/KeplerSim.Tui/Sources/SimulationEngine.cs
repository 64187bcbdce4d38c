using System.Reactive.Linq;
using System.Reactive.Subjects;
using KeplerSim.Core;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Sources;

/// <summary>
/// A live simulation as a source: a <see cref="LiveScenario"/> advanced on command, its trace turned into
/// events, its ground truth into states. Synchronous and single threaded (the simulation's rule): create it and
/// call it on one thread. <see cref="SimulationHost"/> runs one on its own thread for the app; tests drive one
/// directly.
/// </summary>
public sealed class SimulationEngine : IClusterSource
{
    /// <summary>Virtual time one step advances.</summary>
    public const long StepMicroseconds = 100_000;

    /// <summary>The speeds playing can run at, in virtual seconds per wall second.</summary>
    public static IReadOnlyList<double> Speeds { get; } = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50];

    private readonly LiveScenario _live;
    private readonly EventFold _fold = new();
    private readonly GroundTruth _truth;
    private readonly Subject<ClusterState> _states = new();
    private readonly Subject<MonitorEvent> _events = new();
    private int _speedIndex = 3;
    private string? _status;

    /// <summary>Prepares <paramref name="scenario"/> with <paramref name="seed"/> (paused at time 0).</summary>
    public SimulationEngine(Scenario scenario, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        _live = new LiveScenario(scenario, seed);
        _truth = new GroundTruth(_live, _fold);
        _live.Simulation.Trace.Recorded += OnRecord;
        _live.Begin();
        Title = $"sim {scenario.Name} seed {seed}";
    }

    /// <summary>The scenario run (ground truth for tests).</summary>
    public LiveScenario Live => _live;

    /// <summary>Title text.</summary>
    public string Title { get; }

    /// <summary>Whether time flows on its own (the host advances it).</summary>
    public bool Playing { get; private set; }

    /// <summary>Virtual seconds per wall second while playing.</summary>
    public double Speed => Speeds[_speedIndex];

    /// <summary>Whether the simulation stopped on an error (it cannot go on).</summary>
    public bool Failed { get; private set; }

    /// <inheritdoc />
    public SourceKind Kind => SourceKind.Simulation;

    /// <inheritdoc />
    public IObservable<ClusterState> States => _states.AsObservable();

    /// <inheritdoc />
    public IObservable<MonitorEvent> Events => _events.AsObservable();

    /// <inheritdoc />
    public void Start() => Publish();

    /// <inheritdoc />
    public void Send(SourceCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        try
        {
            Execute(command);
        }
        catch (ArgumentException e)
        {
            _status = e.Message;
        }
        catch (Exception e) when (IsFatal(e))
        {
            Stop(e);
        }

        Publish();
    }

    /// <summary>Runs <paramref name="sliceMicroseconds"/> of virtual time and publishes the new state.</summary>
    public void Advance(long sliceMicroseconds)
    {
        if (Failed)
        {
            return;
        }

        try
        {
            _live.Advance(sliceMicroseconds);
        }
        catch (Exception e) when (IsFatal(e))
        {
            Stop(e);
        }

        Publish();
    }

    /// <summary>An error the simulation cannot go on from (the run's own state is broken).</summary>
    private static bool IsFatal(Exception e) => e is SimulationException or InvariantViolationException;

    private void Stop(Exception e)
    {
        Failed = true;
        Playing = false;
        _status = $"simulation stopped: {e.Message}";
    }

    private void Execute(SourceCommand command)
    {
        _status = null;
        switch (command.Kind)
        {
            case CommandKind.TogglePlay:
                Playing = !Playing && !Failed;
                break;
            case CommandKind.Step:
                Playing = false;
                Advance(StepMicroseconds);
                break;
            case CommandKind.Faster:
                _speedIndex = Math.Min(Speeds.Count - 1, _speedIndex + 1);
                break;
            case CommandKind.Slower:
                _speedIndex = Math.Max(0, _speedIndex - 1);
                break;
            case CommandKind.Crash when command.Node is { } node:
                _live.Crash(node);
                break;
            case CommandKind.Restart when command.Node is { } node:
                _live.Restart(node);
                break;
            case CommandKind.Isolate when command.Node is { } node:
                _live.Isolate(node);
                break;
            case CommandKind.Heal:
                _live.HealAll();
                break;
        }
    }

    private void Publish()
    {
        var state = _truth.Build(Title) with
        {
            Play = Playing ? PlayState.Playing : PlayState.Paused,
            Speed = Speed,
            Status = _status,
        };
        _states.OnNext(state);
    }

    private void OnRecord(TraceRecord record)
    {
        if (TraceEvents.ToEvent(record) is { } e)
        {
            _fold.Apply(e);
            _events.OnNext(e);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _live.Simulation.Trace.Recorded -= OnRecord;
        _live.Dispose();
        _states.OnCompleted();
        _events.OnCompleted();
        _states.Dispose();
        _events.Dispose();
    }
}
