using KeplerSim.Core.Node;

namespace KeplerSim.Sim.Scenarios;

/// <summary>What a timeline step does; the step's action key in the file is the snake_case name.</summary>
public enum StepKind
{
    /// <summary>Start nodes (a node not started at time 0 joins here).</summary>
    Start,
    /// <summary>Take nodes down for good: the liveness phase does not bring them back.</summary>
    Stop,
    /// <summary>Crash nodes (optionally restarting after a delay).</summary>
    Crash,
    /// <summary>Crash and start again.</summary>
    Restart,
    /// <summary>Pause nodes (optionally for a duration).</summary>
    Pause,
    /// <summary>Resume paused nodes.</summary>
    Resume,
    /// <summary>Partition the network into groups.</summary>
    Partition,
    /// <summary>Remove every partition.</summary>
    Heal,
    /// <summary>Change network faults (every link, or the links between two node lists).</summary>
    Network,
    /// <summary>Corrupt random chunk files on nodes.</summary>
    Corrupt,
    /// <summary>Change disk faults of nodes (fill: capacity; slow: latency).</summary>
    Disk,
    /// <summary>Jump, skew or drift node clocks.</summary>
    Clock,
    /// <summary>Store a file.</summary>
    Put,
    /// <summary>Read a file.</summary>
    Get,
    /// <summary>Delete a file.</summary>
    Delete,
    /// <summary>List paths under a prefix.</summary>
    List,
    /// <summary>Require a condition to hold within a timeout.</summary>
    WaitUntil,
    /// <summary>Processes without the cluster key attack nodes (joins, writes, tombstones, replays).</summary>
    Outsider,
    /// <summary>An operator changes the replication factor on one node (<c>PUT /api/replication-factor</c>).</summary>
    ReplicationFactor,
}

/// <summary>The outcome a file operation step expects.</summary>
public enum ExpectedOutcome
{
    /// <summary>Any success.</summary>
    Ok,
    /// <summary>The file does not exist.</summary>
    NotFound,
    /// <summary>Any failure.</summary>
    Error,
    /// <summary>Success with exactly the bytes of the latest put step of the same path.</summary>
    Equal,
    /// <summary>Any outcome (reported, never failed): generated chaos cases leave judging to the invariants.</summary>
    Any,
    /// <summary>The write is refused because its durability cannot be met (HTTP 503 <c>durability_not_met</c> on a
    /// real node): puts and deletes.</summary>
    DurabilityNotMet,
}

/// <summary>A condition of <c>wait_until</c> (and of the liveness phase).</summary>
public enum WaitCondition
{
    /// <summary>Every node that should be up is running.</summary>
    AllRunning,
    /// <summary>No partition is in force.</summary>
    Healed,
    /// <summary>Every live node's replication queue is empty.</summary>
    QueuesEmpty,
    /// <summary>Every available liveness invariant holds.</summary>
    Converged,
    /// <summary>Every file operation issued so far has completed.</summary>
    OpsSettled,
    /// <summary>Each node named by <c>on:</c> places chunks over exactly the nodes named by <c>members:</c> (its
    /// ring, as its own membership made it).</summary>
    Members,
}

/// <summary>
/// One timeline step. Which members are used depends on <see cref="Kind"/>. A record so that a copy with one field
/// changed (<c>step with { At = … }</c>) carries every other field, whichever kind the step is.
/// </summary>
public sealed record ScenarioStep
{
    /// <summary>Position in the timeline (file order).</summary>
    public int Index { get; init; }

    /// <summary>What the step does.</summary>
    public StepKind Kind { get; init; }

    /// <summary>When it runs, in virtual time from the start.</summary>
    public Duration At { get; init; }

    /// <summary>Where the step starts in the file.</summary>
    public SourcePosition Position { get; init; }

    /// <summary>Source path prefix of the step (<c>steps[3]</c>) for error positions.</summary>
    public string SourcePath { get; init; } = "";

    /// <summary>The nodes the step acts on (node steps), or the node a file operation goes to.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = [];

    /// <summary>Partition groups.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Groups { get; init; } = [];

    /// <summary>Partition: only traffic from the first group to the second is cut.</summary>
    public bool OneWay { get; init; }

    /// <summary>Pause length, or crash-to-restart delay.</summary>
    public Duration? For { get; init; }

    /// <summary>Network step: the links' sources (with <see cref="To"/>), else every link.</summary>
    public IReadOnlyList<string> From { get; init; } = [];

    /// <summary>Network step: the links' targets.</summary>
    public IReadOnlyList<string> To { get; init; } = [];

    /// <summary>Network step: the new faults.</summary>
    public NetworkSpec? NetworkChange { get; init; }

    /// <summary>Disk step: the new faults.</summary>
    public DiskSpec? DiskChange { get; init; }

    /// <summary>Corrupt step: how many chunk files per node.</summary>
    public int Count { get; init; } = 1;

    /// <summary>Clock step: a jump of the wall clock.</summary>
    public Duration? Jump { get; init; }

    /// <summary>Clock step: the new skew.</summary>
    public Duration? Skew { get; init; }

    /// <summary>Clock step: the new drift.</summary>
    public double? DriftPpm { get; init; }

    /// <summary>File steps: the path (prefix for list).</summary>
    public string Path { get; init; } = "";

    /// <summary>Put: size of seeded random content (when <see cref="Content"/> is not given).</summary>
    public ByteSize Size { get; init; } = new(1024);

    /// <summary>Put: literal content.</summary>
    public string? Content { get; init; }

    /// <summary>Put: the client disconnects after sending this many bytes (an aborted upload); null: never.
    /// </summary>
    public ByteSize? AbortAfter { get; init; }

    /// <summary>Put and delete: durability.</summary>
    public Durability Durability { get; init; } = Durability.Quorum;

    /// <summary>File steps: the expected outcome.</summary>
    public ExpectedOutcome Expect { get; init; } = ExpectedOutcome.Ok;

    /// <summary>List: expected number of entries, if given.</summary>
    public int? ExpectCount { get; init; }

    /// <summary>wait_until: the condition.</summary>
    public WaitCondition Condition { get; init; }

    /// <summary>wait_until members: the member set each node of <see cref="Nodes"/> must place chunks over.</summary>
    public IReadOnlyList<string> Members { get; init; } = [];

    /// <summary>
    /// Restart: the key names the nodes restart with (primary first); null keeps their keyring. Outsider: its one
    /// key name (null: no key).
    /// </summary>
    public IReadOnlyList<string>? ClusterKey { get; set; }

    /// <summary>replication_factor: the new factor.</summary>
    public int Factor { get; init; }

    /// <summary>wait_until: how long it may take.</summary>
    public Duration Timeout { get; init; } = new(30_000_000);

    /// <summary>A one-line description for reports.</summary>
    public string Describe()
    {
        var nodes = string.Join(",", Nodes);
        return Kind switch
        {
            StepKind.Partition => "partition " + string.Join(OneWay ? " -> " : " | ",
                Groups.Select(g => string.Join(",", g))),
            StepKind.Heal => "heal",
            StepKind.Network => "network change" + (From.Count > 0 ? $" {string.Join(",", From)} -> "
                + string.Join(",", To) : ""),
            StepKind.Put => $"put {Path} on {nodes} ({(Content is null ? Size.ToString() : Content.Length + "B")})"
                + (AbortAfter is { } abort ? $" aborted after {abort}" : ""),
            StepKind.Get or StepKind.Delete or StepKind.List
                => $"{Kind.ToString().ToLowerInvariant()} {Path} on {nodes}",
            StepKind.WaitUntil when Condition == WaitCondition.Members =>
                $"wait_until members of {nodes} are [{string.Join(",", Members)}] within {Timeout}",
            StepKind.WaitUntil => $"wait_until {Names.Snake(Condition.ToString())} within {Timeout}",
            StepKind.Pause when For is { } d => $"pause {nodes} for {d}",
            StepKind.Crash when For is { } d => $"crash {nodes} (restart after {d})",
            StepKind.Corrupt => $"corrupt {Count} chunk(s) on {nodes}",
            StepKind.ReplicationFactor => $"replication_factor {Factor} on {nodes}",
            StepKind.Outsider => $"outsider attacks {nodes} "
                + (ClusterKey is { } key ? $"with key {key[0]}" : "without a key"),
            StepKind.Restart when ClusterKey is { } keys
                => $"restart {nodes} with cluster key [{string.Join(",", keys)}]",
            _ => $"{Kind.ToString().ToLowerInvariant()} {nodes}",
        };
    }
}

/// <summary>snake_case names of enum members and properties, as written in scenario files.</summary>
public static class Names
{
    /// <summary><c>WaitUntil</c> → <c>wait_until</c>.</summary>
    public static string Snake(string pascal) =>
        YamlDotNet.Serialization.NamingConventions.UnderscoredNamingConvention.Instance.Apply(pascal);
}
