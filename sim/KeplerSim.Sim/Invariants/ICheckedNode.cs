using System.Diagnostics.CodeAnalysis;
using KeplerSim.Core.Manifests;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// A node as the state checkers see it, on either host: a simulated node (<see cref="SimCheckedNode"/>: its
/// simulated disk and inspection connection) or a real <c>kepler-node</c> process (real mode: its data directory
/// and <c>meta.db</c>). The checkers in <see cref="InvariantChecks"/> read nodes only through this, so the simulator
/// and real mode judge a run with one set of checks.
/// </summary>
public interface ICheckedNode
{
    /// <summary>The node's name.</summary>
    string Name { get; }

    /// <summary>Whether it was started at least once (a node never started has no state to judge).</summary>
    bool Started { get; }

    /// <summary>
    /// Its process's epoch, as the client operations issued to it record it (<see cref="Scenarios.FileOp.Epoch"/>):
    /// an operation of another epoch died with its process, or ended with the error its client saw.
    /// </summary>
    int Epoch { get; }

    /// <summary>Whether it runs now: neither down nor paused.</summary>
    bool Running { get; }

    /// <summary>Its state in words, for reports (<c>Running</c>, <c>Down</c>, <c>Paused</c>, ...).</summary>
    string State { get; }

    /// <summary>Its wall clock now, in microseconds since the Unix epoch (a simulated node's may be skewed).</summary>
    long WallMicroseconds { get; }

    /// <summary>Its chunk files (temporary files excluded), verified against their ids, ordered by path.</summary>
    IReadOnlyList<ChunkFile> ChunkFiles();

    /// <summary>
    /// The winning version of each path among the rows of its metadata that may have changed since the last call
    /// that returned true (every winner when the host cannot tell, as here), ordered by path; false when the
    /// metadata is unreadable now (the changes wait for the next call). For a check that needs to see each winner
    /// once per change (fencing), not every winner at every check.
    /// </summary>
    bool TryQueryChangedWinners([MaybeNullWhen(false)] out IReadOnlyList<(string Path, VersionToken Version)> winners) =>
        TryQuery(MetadataQueries.WinningVersions, out winners);

    /// <summary>Its chunk files whose content does not match their id (<see cref="ChunkFile.Matches"/> false), ordered
    /// by path. A host that keeps them apart answers without walking every file.</summary>
    IReadOnlyList<ChunkFile> MismatchedChunkFiles() => [.. ChunkFiles().Where(f => !f.Matches)];

    /// <summary>
    /// Runs a read-only <see cref="MetadataQueries"/> query on the node's metadata; false when the database is
    /// missing, busy (locked by the node) or not KeplerFS's, so the next check tries again.
    /// </summary>
    bool TryQuery<T>(Func<SqliteConnection, T> query, [MaybeNullWhen(false)] out T result);

    /// <summary>
    /// Whether the node holds chunk <paramref name="id"/> durably (it survives a crash now) with content that hashes
    /// to the id, at the id's path. A simulated disk knows what is synced; a real node's file is taken as durable
    /// once it is at its final path (the node renames a chunk there only after syncing it).
    /// </summary>
    bool HoldsDurableIntact(string id);

    /// <summary>Whether a file (intact or not, synced or not) sits at chunk <paramref name="id"/>'s path.</summary>
    bool HoldsChunkFile(string id);

    /// <summary>Whether an earlier <see cref="HoldsDurableIntact"/> found the copy so and its file has not changed
    /// since (a cache the simulator keeps; false when the host keeps none).</summary>
    bool KnownDurableIntact(string id);
}
