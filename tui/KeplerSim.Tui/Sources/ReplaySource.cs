using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Text.Json;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Sources;

/// <summary>
/// A trace file (JSON lines, as <c>kepler-sim run --trace</c> writes them) with a time slider: each seek
/// rebuilds the cluster as it was by folding every event up to that time. Bad lines are skipped and counted.
/// </summary>
public sealed class ReplaySource : IClusterSource
{
    /// <summary>Events kept in the log after a seek.</summary>
    public const int LogMax = 1000;

    /// <summary>Longest trace line read; longer lines are skipped as garbage.</summary>
    public const int LineCharsMax = 64 * 1024;

    private readonly List<MonitorEvent> _events;
    private readonly Subject<ClusterState> _states = new();
    private readonly IScheduler _scheduler;
    private readonly string _title;
    private IDisposable? _timer;
    private int _speedIndex = 3;

    /// <summary>A replay of <paramref name="events"/>; <paramref name="scheduler"/> paces playing.</summary>
    public ReplaySource(string title, IReadOnlyList<MonitorEvent> events, long badLines, IScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(events);
        _title = title;
        _events = events.OrderBy(e => e.TimeMicroseconds ?? 0).ToList();
        BadLines = badLines;
        _scheduler = scheduler;
        End = _events.Count > 0 ? _events[^1].TimeMicroseconds ?? 0 : 0;
    }

    /// <summary>Lines that were not trace records.</summary>
    public long BadLines { get; }

    /// <summary>The trace's last time.</summary>
    public long End { get; }

    /// <summary>The slider's position.</summary>
    public long Now { get; private set; }

    /// <inheritdoc />
    public SourceKind Kind => SourceKind.Replay;

    /// <inheritdoc />
    public IObservable<ClusterState> States => _states.AsObservable();

    /// <inheritdoc />
    public IObservable<MonitorEvent> Events => Observable.Never<MonitorEvent>();

    /// <summary>Reads a trace file; throws <see cref="IOException"/> if it cannot be opened.</summary>
    public static ReplaySource Load(string path, IScheduler scheduler)
    {
        using var reader = File.OpenText(path);
        var (events, bad) = Read(reader);
        return new ReplaySource($"replay {Path.GetFileName(path)}", events, bad, scheduler);
    }

    /// <summary>The log events of a JSON-lines trace, and how many lines were garbage.</summary>
    public static (List<MonitorEvent> Events, long BadLines) Read(TextReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var events = new List<MonitorEvent>();
        long bad = 0;
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line.Length > LineCharsMax || Parse(line) is not { } record)
            {
                bad++;
                continue;
            }

            if (TraceEvents.ToEvent(record) is { } e)
            {
                events.Add(e);
            }
        }

        return (events, bad);
    }

    private static TraceRecord? Parse(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || Integer(root, "t") is not { } time
                || Text(root, "kind") is not { } kindText || !kindText.All(char.IsAsciiLetter)
                || !Enum.TryParse<TraceKind>(kindText, out var kind) || !Enum.IsDefined(kind)
                || Text(root, "node") is not { } node)
            {
                return null;
            }

            return new TraceRecord(time, node, kind, Text(root, "detail"), Integer(root, "a") ?? 0,
                Integer(root, "b") ?? 0);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Integer(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n)
            ? n
            : null;

    /// <inheritdoc />
    public void Start() => Publish();

    /// <inheritdoc />
    public void Send(SourceCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        switch (command.Kind)
        {
            case CommandKind.SeekBy:
                Seek(Now + command.Microseconds);
                return;
            case CommandKind.SeekTo:
                Seek(command.Microseconds);
                return;
            case CommandKind.Step:
                Pause();
                Seek(Now + SimulationEngine.StepMicroseconds);
                return;
            case CommandKind.Faster:
                _speedIndex = Math.Min(SimulationEngine.Speeds.Count - 1, _speedIndex + 1);
                break;
            case CommandKind.Slower:
                _speedIndex = Math.Max(0, _speedIndex - 1);
                break;
            case CommandKind.TogglePlay when _timer is null:
                _timer = Observable.Interval(SimulationHost.Tick, _scheduler).Subscribe(_ =>
                    Seek(Now + (long)(SimulationHost.Tick.TotalMicroseconds * SimulationEngine.Speeds[_speedIndex])));
                break;
            case CommandKind.TogglePlay:
                Pause();
                break;
        }

        Publish();
    }

    /// <summary>Moves the slider to <paramref name="timeMicroseconds"/> (clamped to the trace) and publishes.</summary>
    public void Seek(long timeMicroseconds)
    {
        Now = Math.Clamp(timeMicroseconds, 0, End);
        if (Now >= End)
        {
            Pause();
        }

        Publish();
    }

    private void Pause()
    {
        _timer?.Dispose();
        _timer = null;
    }

    private void Publish() => _states.OnNext(Fold(Now) with
    {
        Play = _timer is null ? PlayState.Paused : PlayState.Playing,
        Speed = SimulationEngine.Speeds[_speedIndex],
        Status = BadLines > 0 ? $"{BadLines} bad trace line(s) skipped" : null,
    });

    /// <summary>The cluster as it was at <paramref name="timeMicroseconds"/>.</summary>
    public ClusterState Fold(long timeMicroseconds)
    {
        var fold = new EventFold();
        var nodes = new SortedDictionary<string, MemberState>(StringComparer.Ordinal);
        var cuts = new List<string>();
        var files = new SortedSet<string>(StringComparer.Ordinal);
        var count = 0;
        foreach (var e in _events)
        {
            if ((e.TimeMicroseconds ?? 0) > timeMicroseconds)
            {
                break;
            }

            count++;
            fold.Apply(e);
            Track(e, nodes, cuts, files);
        }

        var log = _events.Take(count).Skip(Math.Max(0, count - LogMax)).ToList();
        return new ClusterState
        {
            Source = _title,
            TimeMicroseconds = timeMicroseconds,
            EndMicroseconds = End,
            Partition = cuts.Count > 0 ? string.Join("; ", cuts) : null,
            Members = nodes.Select(kv => Member(kv.Key, kv.Value, fold)).ToList(),
            Ring = Ring(nodes),
            Replication = new ReplicationSummary
            {
                FileCount = files.Count,
                QueueDepths = nodes.Keys.Select(n => (n, fold.QueueDepth(n))).ToList(),
                Progress = fold.Progress(),
            },
            Log = log,
        };
    }

    private static void Track(MonitorEvent e, SortedDictionary<string, MemberState> nodes, List<string> cuts,
        SortedSet<string> files)
    {
        switch (e.Kind)
        {
            case "node.started" or "node.resumed":
                nodes[e.Node] = MemberState.Alive;
                break;
            case "node.crashed":
                nodes[e.Node] = MemberState.Down;
                break;
            case "node.paused":
                nodes[e.Node] = MemberState.Paused;
                break;
            case "partition":
                cuts.Add(e.Text);
                break;
            case "partition.heal":
                cuts.Clear();
                break;
            case "write.ack" when e.Field("path") is { } path:
                files.Add(path);
                break;
        }
    }

    private static MemberRow Member(string node, MemberState truth, EventFold fold)
    {
        var swim = fold.Swim(node);
        var health = truth switch
        {
            MemberState.Alive => "running",
            MemberState.Paused => "paused",
            _ => "down",
        };
        return new MemberRow(node, "", swim?.State ?? truth, swim?.Incarnation ?? 0,
            fold.LastHeard(node)?.TimeText ?? "", health);
    }

    private static List<RingRow> Ring(SortedDictionary<string, MemberState> nodes)
    {
        // The trace does not carry the ring's settings: the defaults, over the nodes that are up.
        var up = nodes.Where(kv => kv.Value != MemberState.Down).Select(kv => new NodeId(kv.Key)).ToList();
        if (up.Count == 0)
        {
            return [];
        }

        var shares = new HashRing(up).Shares();
        return nodes.Keys.Select(n => new RingRow(n, shares.GetValueOrDefault(new NodeId(n)), null, null)).ToList();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Pause();
        _states.OnCompleted();
        _states.Dispose();
    }
}
