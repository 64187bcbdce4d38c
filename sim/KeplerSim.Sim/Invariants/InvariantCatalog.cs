using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Invariants;

/// <summary>Whether an expectation held.</summary>
public enum ExpectationStatus
{
    /// <summary>It held.</summary>
    Pass,
    /// <summary>It did not hold.</summary>
    Fail,
    /// <summary>It cannot be checked for this protocol (yet).</summary>
    NotApplicable,
}

/// <summary>One checked expectation: a step's outcome, an invariant, a bound.</summary>
/// <param name="Name">What was expected.</param>
/// <param name="Status">Whether it held.</param>
/// <param name="Detail">The values seen.</param>
public sealed record Expectation(string Name, ExpectationStatus Status, string Detail);

/// <summary>When an invariant is checked.</summary>
public enum InvariantPhase
{
    /// <summary>Throughout the run, every <c>expect.check_interval</c>, and at the end.</summary>
    Safety,
    /// <summary>In the final phase, after every fault is healed, within <c>expect.converge_within</c>.</summary>
    Liveness,
}

/// <summary>An invariant a scenario may declare.</summary>
/// <param name="Name">Its name in <c>expect.invariants</c>.</param>
/// <param name="Phase">When it is checked.</param>
/// <param name="Needs">What the protocol must offer for it to apply.</param>
/// <param name="Available">Whether a checker exists yet (membership ones wait for SWIM).</param>
/// <param name="Meaning">One sentence for docs and reports.</param>
public sealed record InvariantInfo(
    string Name, InvariantPhase Phase, ProtocolCapabilities Needs, bool Available, string Meaning);

/// <summary>Every invariant scenarios can declare (docs/SCENARIOS.md lists the same).</summary>
public static class InvariantCatalog
{
    /// <summary>Chunk files match their ids, or a fault that hit them is known.</summary>
    public const string ChunksMatchIds = "chunks_match_ids";

    /// <summary>After healing, every node that should run is running.</summary>
    public const string AllNodesRunning = "all_nodes_running";

    /// <summary>After healing, every replication queue is empty.</summary>
    public const string QueuesEmpty = "replication_queues_empty";

    /// <summary>After healing, every referenced chunk is on its N owners.</summary>
    public const string ReplicasOnOwners = "replicas_on_owners";

    /// <summary>After healing, no referenced chunk is on a node that does not own it.</summary>
    public const string NoSurplusCopies = "no_surplus_copies";

    /// <summary>After healing, garbage older than the gc grace is collected on every live node.</summary>
    public const string GarbageCollected = "garbage_collected";

    /// <summary>After healing, every chunk file matches its id.</summary>
    public const string CorruptChunksRepaired = "corrupt_chunks_repaired";

    /// <summary>After healing, every acknowledged write is readable, byte-identical, from every live node.</summary>
    public const string AcknowledgedWritesReadable = "acknowledged_writes_readable";

    /// <summary>After healing, every live node places chunks over the same members: those that should be
    /// up.</summary>
    public const string MembershipConverged = "membership_converged";

    /// <summary>After healing, every live node has the same winning version of every path (one namespace).</summary>
    public const string WinnersAgree = "winners_agree";

    /// <summary>Every successful read returned the bytes of a put of that path (no corrupt or invented
    /// bytes).</summary>
    public const string ReadsReturnWrittenBytes = "reads_return_written_bytes";

    /// <summary>Fencing: a node's winning version of a path never goes back to an older version token.</summary>
    public const string VersionsNeverRegress = "versions_never_regress";

    /// <summary>A chunk a node's metadata counts as a replica is durable on its disk and matches its id.</summary>
    public const string ReplicasDurableAndVerified = "replicas_durable_and_verified";

    /// <summary>At every acknowledgement, the copies its durability promised are durable and intact on distinct
    /// nodes.</summary>
    public const string CopiesDurableAtAck = "copies_durable_at_ack";

    /// <summary>Scrub condemns a copy as corrupt only when a fault really hit its file.</summary>
    public const string NoIntactCopyCondemned = "no_intact_copy_condemned";

    /// <summary>No node suspects a member an indirect probe could reach.</summary>
    public const string NoFalseSuspicion = "no_false_suspicion";

    /// <summary>No node that was alive was declared dead.</summary>
    public const string NoFalseDead = "no_false_dead";

    /// <summary>Orphan collection never takes a copy an acknowledged write still counts on.</summary>
    public const string OrphansKeepAckedCopies = "orphans_keep_acked_copies";

    /// <summary>Garbage nothing keeps any more does not come back to a node twice to be collected
    /// again.</summary>
    public const string NoGarbageChurn = "no_garbage_churn";

    /// <summary>Nothing of an outsider (no cluster key, or a key no node holds) was accepted.</summary>
    public const string OutsiderChangesNothing = "outsider_changes_nothing";

    /// <summary>After healing, every live node holds the replication factor change that won among those operators
    /// made.</summary>
    public const string ReplicationFactorConverged = "replication_factor_converged";

    /// <summary>The catalog, in report order.</summary>
    public static IReadOnlyList<InvariantInfo> All { get; } =
    [
        new(ChunksMatchIds, InvariantPhase.Safety, ProtocolCapabilities.Chunks, true,
            "every chunk file's SHA-256 equals its name, unless a fault (corruption) is known to have hit it"),
        new(AllNodesRunning, InvariantPhase.Liveness, ProtocolCapabilities.None, true,
            "every node that was started and not stopped is running"),
        new(QueuesEmpty, InvariantPhase.Liveness, ProtocolCapabilities.Chunks, true,
            "every live node's replication_queue is empty"),
        new(ReplicasOnOwners, InvariantPhase.Liveness, ProtocolCapabilities.Chunks, true,
            "every chunk of a winning or conflict file version is intact on each of its N ring owners"),
        new(NoSurplusCopies, InvariantPhase.Liveness, ProtocolCapabilities.Chunks, true,
            "no chunk of a winning or conflict file version remains on a node that does not own it"),
        new(CorruptChunksRepaired, InvariantPhase.Liveness, ProtocolCapabilities.Chunks, true,
            "no chunk file on any live node is corrupt"),
        new(GarbageCollected, InvariantPhase.Liveness, ProtocolCapabilities.Chunks, true,
            "no history version still holds chunk references, and no unreferenced, unqueued chunk remains, once " +
            "older than the gc grace plus two gc intervals"),
        new(WinnersAgree, InvariantPhase.Liveness, ProtocolCapabilities.Chunks, true,
            "every live node's metadata has the same winning version (token) of every path"),
        new(AcknowledgedWritesReadable, InvariantPhase.Liveness, ProtocolCapabilities.Files, true,
            "every acknowledged write is readable and byte-identical from every live node"),
        new(MembershipConverged, InvariantPhase.Liveness, ProtocolCapabilities.Membership, true,
            "every live node places chunks over the same member set: the nodes started and not stopped"),
        new(NoFalseDead, InvariantPhase.Safety, ProtocolCapabilities.Membership, true,
            "no node was declared dead while it and its declarer were running and reachable from a majority " +
            "(links with <= 10% loss) for the whole suspicion window"),
        new(NoFalseSuspicion, InvariantPhase.Safety, ProtocolCapabilities.Membership, true,
            "no node suspected a member while both ran and every relay it could pick for an indirect probe ran " +
            "with lossless, uncut links to both for the whole probe (the direct link may be cut)"),
        new(CopiesDurableAtAck, InvariantPhase.Safety, ProtocolCapabilities.Chunks, true,
            "at every write acknowledgement, each chunk is durable and intact on the copies its durability " +
            "promised (all N, quorum N/2+1, fast 1; N = min(RF, members started and not left)), distinct nodes " +
            "owning it, and the manifest is recorded on as many nodes"),
        new(ReadsReturnWrittenBytes, InvariantPhase.Safety, ProtocolCapabilities.Files, true,
            "every successful get returned exactly the bytes of a put of that path issued before it completed"),
        new(VersionsNeverRegress, InvariantPhase.Safety, ProtocolCapabilities.Chunks, true,
            "fencing: no node's winning version of a path is ever replaced by one with an older version token"),
        new(ReplicasDurableAndVerified, InvariantPhase.Safety, ProtocolCapabilities.Chunks, true,
            "every chunk row in a node's metadata has a durable file on its disk whose SHA-256 matches the id"),
        new(NoIntactCopyCondemned, InvariantPhase.Safety, ProtocolCapabilities.Chunks, true,
            "scrub declares a chunk copy corrupt (and drops it) only if a fault really hit the file: a read error " +
            "or any other doubt is no verdict"),
        new(OrphansKeepAckedCopies, InvariantPhase.Safety, ProtocolCapabilities.Chunks, true,
            "when a node deletes a chunk as an orphan (chunk.orphan_collected), every acknowledged write whose " +
            "version is still its path's winner still has the copies its durability promised of every chunk"),
        new(NoGarbageChurn, InvariantPhase.Safety, ProtocolCapabilities.Chunks, true,
            "garbage is not handed back to a node: a node's second (and later) chunk.collected of a chunk needs a " +
            "version of a file listing it recorded on some node at most a gc grace + gc interval + the run's clock " +
            "moves before the collection before it, unless a hinted copy's hand-over brought it back"),
        new(OutsiderChangesNothing, InvariantPhase.Safety, ProtocolCapabilities.Membership, true,
            "no member, chunk, manifest or tombstone of an outsider (a process without the cluster key) is ever " +
            "accepted by any node"),
        new(ReplicationFactorConverged, InvariantPhase.Liveness, ProtocolCapabilities.Membership, true,
            "every live node holds the replication factor change that wins by (version, origin) among those " +
            "operators' calls were answered with (none: none made), so with replicas_on_owners and " +
            "no_surplus_copies every chunk has exactly that many copies, on its owners"),
    ];

    /// <summary>Every invariant name.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(i => i.Name).ToList();

    /// <summary>The invariant called <paramref name="name"/>.</summary>
    public static InvariantInfo Get(string name) => All.First(i => i.Name == name);

    /// <summary>Why the invariant cannot be checked for <paramref name="capabilities"/>, or null if it can.</summary>
    public static string? NotApplicableReason(InvariantInfo info, ProtocolCapabilities capabilities, string protocol)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (!capabilities.HasFlag(info.Needs))
        {
            return info.Needs switch
            {
                ProtocolCapabilities.Membership => $"protocol {protocol} has no membership of its own",
                ProtocolCapabilities.Files => $"protocol {protocol} offers no file API",
                _ => $"protocol {protocol} stores no chunks",
            };
        }

        return info.Available ? null : "no checker for it exists yet";
    }
}
