using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Sources;

/// <summary>What a key asks the source to do; a source ignores what it cannot do.</summary>
public enum CommandKind
{
    /// <summary>Play or pause.</summary>
    TogglePlay,
    /// <summary>Advance one step (paused).</summary>
    Step,
    /// <summary>Play faster.</summary>
    Faster,
    /// <summary>Play slower.</summary>
    Slower,
    /// <summary>Crash the node.</summary>
    Crash,
    /// <summary>Restart (or start) the node.</summary>
    Restart,
    /// <summary>Partition the node away from every other node.</summary>
    Isolate,
    /// <summary>Heal every partition.</summary>
    Heal,
    /// <summary>Move virtual time by <see cref="SourceCommand.Microseconds"/> (replay; negative goes back).</summary>
    SeekBy,
    /// <summary>Jump to virtual time <see cref="SourceCommand.Microseconds"/> (replay).</summary>
    SeekTo,
}

/// <summary>A command for a source.</summary>
/// <param name="Kind">What to do.</param>
/// <param name="Node">The node it is about, if any.</param>
/// <param name="Microseconds">A time or time delta, if any.</param>
public sealed record SourceCommand(CommandKind Kind, string? Node = null, long Microseconds = 0);

/// <summary>Which kind of source.</summary>
public enum SourceKind
{
    /// <summary>A real cluster over HTTP.</summary>
    Cluster,
    /// <summary>A simulation running in-process.</summary>
    Simulation,
    /// <summary>A trace file.</summary>
    Replay,
}

/// <summary>
/// Where the monitor's data comes from. States and events may be published on any thread; the view model
/// marshals them to the UI thread.
/// </summary>
public interface IClusterSource : IDisposable
{
    /// <summary>Which kind of source this is (decides the keys on the help bar).</summary>
    SourceKind Kind { get; }

    /// <summary>Snapshots of the cluster, each complete.</summary>
    IObservable<ClusterState> States { get; }

    /// <summary>Events as they happen.</summary>
    IObservable<MonitorEvent> Events { get; }

    /// <summary>Starts producing (after the view model subscribed).</summary>
    void Start();

    /// <summary>Asks the source to do something.</summary>
    void Send(SourceCommand command);
}
