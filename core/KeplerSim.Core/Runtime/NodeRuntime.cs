using KeplerSim.Core.Diagnostics;

namespace KeplerSim.Core.Runtime;

/// <summary>
/// Everything a node's protocol code may touch, supplied by its host (the simulator or the real node). One
/// instance per node incarnation: a restart gets a fresh one over the same disk and metadata.
/// </summary>
public sealed record NodeRuntime(
    NodeId Id,
    IClock Clock,
    IRandom Random,
    IDatagramNetwork Datagrams,
    IStreamNetwork Streams,
    IDisk Disk,
    IMetadataConnectionFactory Metadata,
    IEventPublisher Events,
    IBuggify Buggify)
{
    /// <summary>
    /// Where pure CPU work (hashing) runs: inline by default and in the simulator; on the thread pool in the real
    /// node, completing back on its loop.
    /// </summary>
    public IPureWork PureWork { get; init; } = InlinePureWork.Instance;

    /// <summary>
    /// The key chunk files are encrypted with at rest (the real node's ENCRYPTION_KEY, the simulator's
    /// <c>cluster.encryption_at_rest</c>); null stores chunks in plaintext.
    /// </summary>
    public Storage.AtRestKey? AtRestKey { get; init; }

    /// <summary>
    /// Values this node may share with the other nodes of its host (interned member names, ring layouts): its own
    /// by default; the simulator gives all nodes of a simulation one.
    /// </summary>
    public SharedValues Shared { get; init; } = new();

    /// <summary>
    /// Runs every background task of the node under a name and reports what escapes one: the simulator fails the
    /// run, the real node logs it as fatal and exits. Each host supplies its own (there is no silent default).
    /// </summary>
    public required Supervisor Supervisor { get; init; }
}

/// <summary>A protocol program a host runs on one node (the KeplerFS node, or a demo protocol).</summary>
public interface INodeProgram
{
    /// <summary>Starts the program; called once per incarnation on the node's logical thread.</summary>
    Task StartAsync();
}
