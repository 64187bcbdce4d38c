using System.Diagnostics.CodeAnalysis;
using KeplerSim.Sim.Invariants;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Sim.Real;

/// <summary>
/// A real <c>kepler-node</c> process as the shared checkers see it: its data directory's chunk files and read-only
/// <c>meta.db</c> through <see cref="RealInspector"/>, its process state, and the ring its <c>/api/members</c> last
/// answered (refreshed by the run before <c>membership_converged</c>: the checks themselves do no I/O but files).
/// </summary>
internal sealed class RealCheckedNode(RealNode node, RealInspector inspector) : ICheckedNode
{
    /// <summary>The process.</summary>
    public RealNode Node => node;

    /// <inheritdoc/>
    public string Name => node.Spec.Name;

    /// <inheritdoc/>
    public bool Started => node.Epoch > 0;

    /// <inheritdoc/>
    public int Epoch => node.Epoch;

    /// <inheritdoc/>
    public bool Running => node.Running && !node.Paused;

    /// <inheritdoc/>
    public string State => node.Paused ? "Paused" : node.Running ? "Running" : "Down";

    /// <inheritdoc/>
    public long WallMicroseconds => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;

    /// <summary>The members in its ring at the last refresh; null without an answer.</summary>
    public IReadOnlyList<string>? Ring { get; set; }

    /// <inheritdoc/>
    public IReadOnlyList<ChunkFile> ChunkFiles() => inspector.ChunkFiles(node.Spec.DataDir);

    /// <inheritdoc/>
    public bool TryQuery<T>(Func<SqliteConnection, T> query, [MaybeNullWhen(false)] out T result) =>
        RealInspector.TryQuery(node.Spec.DataDir, query, out result);

    /// <inheritdoc/>
    public bool HoldsDurableIntact(string id) => inspector.HoldsIntact(node.Spec.DataDir, id);

    /// <inheritdoc/>
    public bool HoldsChunkFile(string id) =>
        File.Exists(Path.Combine(node.Spec.DataDir, Core.Storage.ChunkStore.PathOf(id)));

    /// <inheritdoc/>
    public bool KnownDurableIntact(string id) => false;
}
