using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Sources;

/// <summary>
/// Runs a <see cref="SimulationEngine"/> on a dedicated thread (the simulation must stay on the thread that made
/// it): commands are queued to it; while playing it advances virtual time by speed × elapsed wall time each
/// tick. States and events are published from that thread.
/// </summary>
public sealed class SimulationHost : IClusterSource
{
    /// <summary>Wall time between two advances while playing.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    /// <summary>Most virtual time one tick may advance, so a slow simulation stays responsive to keys.</summary>
    public const long SliceMicrosecondsMax = 2_000_000;

    /// <summary>How long disposing waits for the simulation thread to finish its current advance.</summary>
    public static readonly TimeSpan StopWait = TimeSpan.FromSeconds(30);

    /// <summary>Commands waiting for the simulation thread.</summary>
    public const int CommandQueueMax = 256;

    private readonly Func<SimulationEngine> _create;
    private readonly BlockingCollection<SourceCommand> _commands = new(CommandQueueMax);
    private readonly Subject<ClusterState> _states = new();
    private readonly Subject<MonitorEvent> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private Thread? _thread;

    /// <summary>A host that will create its engine with <paramref name="create"/> on its own thread.</summary>
    public SimulationHost(Func<SimulationEngine> create) => _create = create;

    /// <inheritdoc />
    public SourceKind Kind => SourceKind.Simulation;

    /// <inheritdoc />
    public IObservable<ClusterState> States => _states.AsObservable();

    /// <inheritdoc />
    public IObservable<MonitorEvent> Events => _events.AsObservable();

    /// <inheritdoc />
    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "kepler-tui simulation" };
        _thread.Start();
    }

    /// <inheritdoc />
    public void Send(SourceCommand command)
    {
        if (!_stop.IsCancellationRequested)
        {
            _commands.TryAdd(command);
        }
    }

    private void Run()
    {
        SimulationEngine engine;
        try
        {
            engine = _create();
        }
        catch (Exception e)
        {
            _states.OnNext(ClusterState.Empty with { Source = "simulation", Status = "cannot start: " + e.Message });
            return;
        }

        var last = ClusterState.Empty with { Source = "simulation" };
        using (engine)
        using (engine.States.Subscribe(s => _states.OnNext(last = s)))
        using (engine.Events.Subscribe(_events.OnNext))
        {
            try
            {
                Loop(engine);
            }
            catch (Exception e)
            {
                // A bug outside the simulation's own checks: keep the last picture, say why it froze.
                _states.OnNext(last with { Play = PlayState.Paused, Status = $"simulation thread failed: {e.Message}" });
            }
        }
    }

    private void Loop(SimulationEngine engine)
    {
        engine.Start();
        var clock = Stopwatch.StartNew();
        while (!_stop.IsCancellationRequested)
        {
            if (TryTake(out var command))
            {
                engine.Send(command);
                continue;
            }

            var elapsed = clock.Elapsed;
            clock.Restart();
            if (engine.Playing)
            {
                var slice = (long)(elapsed.TotalMicroseconds * engine.Speed);
                engine.Advance(Math.Clamp(slice, 1, SliceMicrosecondsMax));
            }
        }
    }

    private bool TryTake(out SourceCommand command)
    {
        try
        {
            return _commands.TryTake(out command!, (int)Tick.TotalMilliseconds, _stop.Token);
        }
        catch (OperationCanceledException)
        {
            command = null!;
            return false;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Stops the simulation thread and waits for it (up to <see cref="StopWait"/>). Called on the simulation
    /// thread itself (an observer's continuation can run there) it only asks the loop to stop. The subjects are
    /// completed by the engine's disposal and never disposed, so a late publish cannot throw.
    /// </remarks>
    public void Dispose()
    {
        _stop.Cancel();
        if (_thread is { } thread && thread != Thread.CurrentThread)
        {
            thread.Join(StopWait);
        }
    }
}
