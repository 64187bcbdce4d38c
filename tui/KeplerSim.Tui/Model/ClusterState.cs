namespace KeplerSim.Tui.Model;

/// <summary>What the monitor believes about a member (from SWIM events, a member list or the simulator).</summary>
public enum MemberState
{
    /// <summary>Nothing known yet.</summary>
    Unknown,
    /// <summary>Answering probes, or running.</summary>
    Alive,
    /// <summary>Suspected by SWIM.</summary>
    Suspect,
    /// <summary>Declared dead by SWIM.</summary>
    Dead,
    /// <summary>Left gracefully, or stopped for good by a scenario.</summary>
    Left,
    /// <summary>Paused by the simulator (alive, not processing).</summary>
    Paused,
    /// <summary>Not running (crashed in the simulator, or never started).</summary>
    Down,
}

/// <summary>One row of the members view.</summary>
/// <param name="Id">The node id.</param>
/// <param name="Address">Its gossip address.</param>
/// <param name="State">Its state (see <see cref="MemberState"/>).</param>
/// <param name="Incarnation">Its SWIM incarnation (0 until one is seen).</param>
/// <param name="LastHeard">When the monitor last heard of it, as display text.</param>
/// <param name="Health">
/// The monitor's own check: for a real cluster whether its HTTP API answers sensibly; in a simulation the
/// kernel's ground truth (running, down, paused, stopped) and whether a partition cuts it.
/// </param>
public sealed record MemberRow(string Id, string Address, MemberState State, long Incarnation, string LastHeard,
    string Health);

/// <summary>One row of the ring view.</summary>
/// <param name="Id">The node id.</param>
/// <param name="Share">Its share of the ring (fraction of keys it owns a replica of; sums to N).</param>
/// <param name="StoredChunks">Chunk files it holds, if known.</param>
/// <param name="StoredBytes">Bytes of chunk files it holds, if known.</param>
public sealed record RingRow(string Id, double Share, long? StoredChunks, long? StoredBytes);

/// <summary>Repair, replication and rebalance progress summed over the nodes that reported it.</summary>
/// <param name="ChunksLeft">Queue entries left.</param>
/// <param name="BytesLeft">Bytes left.</param>
/// <param name="ChunksPerSecond">Current rate.</param>
/// <param name="EtaMicroseconds">Estimated time to drain (the slowest node), or -1 when unknown.</param>
public sealed record RepairProgress(long ChunksLeft, long BytesLeft, double ChunksPerSecond, long EtaMicroseconds);

/// <summary>Files and replication; each part is null when the source cannot know it.</summary>
public sealed record ReplicationSummary
{
    /// <summary>The empty summary.</summary>
    public static ReplicationSummary Empty { get; } = new();

    /// <summary>Live files.</summary>
    public long? FileCount { get; init; }

    /// <summary>Whether <see cref="FileCount"/> is only a lower bound (a listing came back full).</summary>
    public bool FileCountIsLowerBound { get; init; }

    /// <summary>Referenced chunks by how many copies exist: (copies, chunks), ordered by copies.</summary>
    public IReadOnlyList<(int Replicas, long Chunks)>? ChunksByReplicas { get; init; }

    /// <summary>N: the copies every chunk should have (the replication factor over the known members), when
    /// known.</summary>
    public int? TargetCopies { get; init; }

    /// <summary>Where the factor comes from: "configured", "set at runtime: version V from NODE", or which node holds
    /// which while a change spreads; null when unknown.</summary>
    public string? FactorSource { get; init; }

    /// <summary>Chunks with fewer copies than wanted, as "id (copies)", capped.</summary>
    public IReadOnlyList<string>? UnderReplicated { get; init; }

    /// <summary>Total under-replicated chunks (the list may be capped).</summary>
    public long? UnderReplicatedCount { get; init; }

    /// <summary>Replication queue depth per node (null when unknown).</summary>
    public IReadOnlyList<(string Node, long? Depth)> QueueDepths { get; init; } = [];

    /// <summary>The latest progress, if any node reported one.</summary>
    public RepairProgress? Progress { get; init; }
}

/// <summary>Whether time is flowing.</summary>
public enum PlayState
{
    /// <summary>A real cluster: always live.</summary>
    Live,
    /// <summary>A simulation or replay advancing on its own.</summary>
    Playing,
    /// <summary>A simulation or replay standing still.</summary>
    Paused,
}

/// <summary>Everything the views show, as one immutable snapshot produced by a source.</summary>
public sealed record ClusterState
{
    /// <summary>An empty state.</summary>
    public static ClusterState Empty { get; } = new() { Source = "" };

    /// <summary>What is being watched, for the title.</summary>
    public required string Source { get; init; }

    /// <summary>Virtual time now (simulation, replay), or null for a real cluster.</summary>
    public long? TimeMicroseconds { get; init; }

    /// <summary>The end of the scenario or trace, if known.</summary>
    public long? EndMicroseconds { get; init; }

    /// <summary>Play state.</summary>
    public PlayState Play { get; init; } = PlayState.Live;

    /// <summary>Virtual seconds per wall second while playing.</summary>
    public double Speed { get; init; } = 1;

    /// <summary>The partition in force, as text ("n1,n2 | n3,n4"), or null.</summary>
    public string? Partition { get; init; }

    /// <summary>A note or error for the status line.</summary>
    public string? Status { get; init; }

    /// <summary>Members, ordered by id.</summary>
    public IReadOnlyList<MemberRow> Members { get; init; } = [];

    /// <summary>The ring, ordered by id.</summary>
    public IReadOnlyList<RingRow> Ring { get; init; } = [];

    /// <summary>Files and replication.</summary>
    public ReplicationSummary Replication { get; init; } = ReplicationSummary.Empty;

    /// <summary>Detail lines per node id.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> NodeDetails { get; init; } =
        new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>When set, the whole event log as of this state (a replay after a seek); else events stream.</summary>
    public IReadOnlyList<MonitorEvent>? Log { get; init; }
}
