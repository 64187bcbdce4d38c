using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Metadata;

/// <summary>
/// A row of <c>replication_queue</c>: this node still has to copy a chunk to a target node. Times are monotonic or
/// wall microseconds as the caller chooses, as long as it is consistent (it compares them with its own clock).
/// </summary>
/// <param name="ChunkId">The chunk to send.</param>
/// <param name="Target">The node that must receive it.</param>
/// <param name="Attempts">How many sends were tried so far.</param>
/// <param name="LastAttemptUs">When the last send was tried, or null before the first.</param>
/// <param name="NextAttemptAtUs">The entry is due from this time on.</param>
/// <param name="RequestId">The client write waiting on this copy, or null for background work.</param>
public sealed record QueueEntry(
    string ChunkId,
    NodeId Target,
    int Attempts,
    long? LastAttemptUs,
    long NextAttemptAtUs,
    string? RequestId);
