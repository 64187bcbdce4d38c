using System.Collections.Concurrent;
using System.Reactive;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using KeplerSim.Tui.Model;
using KeplerSim.Tui.Sources;

namespace KeplerSim.Tui.ViewModel;

/// <summary>
/// The one view model behind every view: the latest <see cref="ClusterState"/>, the event log with its filter,
/// the selected node, and the commands the keys send. States and events arrive on any thread; they are queued
/// and applied in one batch on the UI scheduler, so the views change only on the UI thread and a burst of
/// events costs one redraw.
/// </summary>
public sealed class MonitorViewModel : IDisposable
{
    /// <summary>Events kept in the log (the oldest go first).</summary>
    public const int LogMax = 2000;

    /// <summary>Updates waiting for the UI thread; beyond it the oldest events are dropped.</summary>
    public const int PendingMax = 100_000;

    private readonly IClusterSource _source;
    private readonly IScheduler _ui;
    private readonly ConcurrentQueue<object> _pending = new();
    private readonly LinkedList<MonitorEvent> _log = new();
    private readonly Subject<Unit> _changed = new();
    private readonly IDisposable _subscriptions;
    private List<MonitorEvent>? _filtered;
    private int _drainScheduled;
    private long _dropped;

    /// <summary>Binds to <paramref name="source"/>; <paramref name="ui"/> is where changes are applied.</summary>
    public MonitorViewModel(IClusterSource source, IScheduler ui)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _ui = ui;
        _subscriptions = new System.Reactive.Disposables.CompositeDisposable(
            source.States.Subscribe(s => Enqueue(s)),
            source.Events.Subscribe(e => Enqueue(e)));
    }

    /// <summary>The source's kind.</summary>
    public SourceKind Kind => _source.Kind;

    /// <summary>The latest state.</summary>
    public ClusterState State { get; private set; } = ClusterState.Empty;

    /// <summary>Fires (on the UI scheduler) after state, log or selection changed.</summary>
    public IObservable<Unit> Changed => _changed.AsObservable();

    /// <summary>The current filter.</summary>
    public EventFilter Filter { get; private set; } = new(null);

    /// <summary>Every logged event, oldest first.</summary>
    public IReadOnlyCollection<MonitorEvent> Log => _log;

    /// <summary>The events that pass the filter, oldest first.</summary>
    public IReadOnlyList<MonitorEvent> FilteredLog => _filtered ??= _log.Where(Filter.Matches).ToList();

    /// <summary>Events dropped because the UI fell too far behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>The selected row of the members view.</summary>
    public int SelectedIndex { get; private set; }

    /// <summary>The selected node's id, if any.</summary>
    public string? SelectedNode => State.Members.Count > 0
        ? State.Members[Math.Clamp(SelectedIndex, 0, State.Members.Count - 1)].Id
        : null;

    /// <summary>Starts the source.</summary>
    public void Start() => _source.Start();

    /// <summary>Moves the selection by <paramref name="delta"/> rows.</summary>
    public void Select(int delta)
    {
        SelectedIndex = Math.Clamp(SelectedIndex + delta, 0, Math.Max(0, State.Members.Count - 1));
        _changed.OnNext(Unit.Default);
    }

    /// <summary>Sets the event filter.</summary>
    public void SetFilter(string? text)
    {
        Filter = new EventFilter(text);
        _filtered = null;
        _changed.OnNext(Unit.Default);
    }

    /// <summary>Sends a command; node commands go to the selected node.</summary>
    public void Send(CommandKind kind, long microseconds = 0) =>
        _source.Send(new SourceCommand(kind, SelectedNode, microseconds));

    private void Enqueue(object update)
    {
        if (_pending.Count >= PendingMax && update is MonitorEvent)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        _pending.Enqueue(update);
        if (Interlocked.Exchange(ref _drainScheduled, 1) == 0)
        {
            _ui.Schedule(Drain);
        }
    }

    private void Drain()
    {
        Volatile.Write(ref _drainScheduled, 0);
        var any = false;
        while (_pending.TryDequeue(out var update))
        {
            any = true;
            if (update is ClusterState state)
            {
                Apply(state);
            }
            else if (update is MonitorEvent e)
            {
                Append(e);
            }
        }

        if (any)
        {
            _changed.OnNext(Unit.Default);
        }
    }

    private void Apply(ClusterState state)
    {
        State = state;
        SelectedIndex = Math.Clamp(SelectedIndex, 0, Math.Max(0, state.Members.Count - 1));
        if (state.Log is { } log)
        {
            _log.Clear();
            foreach (var e in log.Skip(Math.Max(0, log.Count - LogMax)))
            {
                _log.AddLast(e);
            }

            _filtered = null;
        }
    }

    private void Append(MonitorEvent e)
    {
        _log.AddLast(e);
        if (_log.Count > LogMax)
        {
            _log.RemoveFirst();
            _filtered = null;
        }
        else if (_filtered is not null && Filter.Matches(e))
        {
            _filtered.Add(e);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _subscriptions.Dispose();
        _changed.OnCompleted();
        _changed.Dispose();
    }
}
