namespace KeplerSim.Sim.Scenarios;

/// <summary>A scenario file: cluster, fault profile, workloads, timeline and expectations. See
/// docs/SCENARIOS.md.</summary>
public sealed class Scenario
{
    /// <summary>A short name for reports.</summary>
    public string Name { get; set; } = "scenario";

    /// <summary>What the scenario is about (shown in reports).</summary>
    public string Description { get; set; } = "";

    /// <summary>The default seed (the command line's <c>--seed</c> overrides it).</summary>
    public ulong Seed { get; set; } = 1;

    /// <summary>How long the run lasts in virtual time (the liveness phase comes after).</summary>
    public Duration Duration { get; set; } = new(10_000_000);

    /// <summary>The cluster.</summary>
    public ClusterSpec Cluster { get; set; } = new();

    /// <summary>The network fault profile.</summary>
    public NetworkSpec Network { get; set; } = new();

    /// <summary>The disk fault profile.</summary>
    public DiskSpec Disk { get; set; } = new();

    /// <summary>The clock fault profile.</summary>
    public ClockSpec Clock { get; set; } = new();

    /// <summary>The random fault process.</summary>
    public ChaosSpec Chaos { get; set; } = new();

    /// <summary>Which rates <c>swarm</c> may scale or switch off per seed.</summary>
    public SwarmSpec Swarm { get; set; } = new();

    /// <summary>Random workload generators.</summary>
    public List<WorkloadSpec> Workloads { get; set; } = [];

    /// <summary>The timeline, in file order (steps at the same time run in file order).</summary>
    public List<ScenarioStep> Steps { get; set; } = [];

    /// <summary>What is checked during and after the run.</summary>
    public ExpectSpec Expect { get; set; } = new();

    /// <summary>The file the scenario came from (for errors and replay commands).</summary>
    public string File { get; internal set; } = "";

    /// <summary>Where each key's value sits in the file, by dotted path (<c>cluster.names[1]</c>).</summary>
    public SourceMap Source { get; internal set; } = new();
}

/// <summary>A 1-based line and column in a scenario file.</summary>
public readonly record struct SourcePosition(long Line, long Column);

/// <summary>Positions of values in a scenario file by dotted path; lookups fall back to the nearest parent.</summary>
public sealed class SourceMap
{
    private readonly SortedDictionary<string, SourcePosition> _positions = new(StringComparer.Ordinal);

    /// <summary>Records where the value at <paramref name="path"/> starts.</summary>
    public void Add(string path, SourcePosition position) => _positions[path] = position;

    /// <summary>Where the value at <paramref name="path"/> (or its nearest recorded parent) starts.</summary>
    public SourcePosition Find(string path)
    {
        for (var p = path; ; p = Parent(p))
        {
            if (_positions.TryGetValue(p, out var position))
            {
                return position;
            }

            if (p.Length == 0)
            {
                return new SourcePosition(1, 1);
            }
        }
    }

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut < 0 ? "" : path[..cut];
    }
}

/// <summary>A scenario file is malformed; the message is <c>file(line,col): what was expected</c>.</summary>
public sealed class ScenarioException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>An error at <paramref name="position"/> of <paramref name="file"/>.</summary>
    public static ScenarioException At(string file, SourcePosition position, string message) =>
        new($"{file}({position.Line},{position.Column}): {message}");
}
