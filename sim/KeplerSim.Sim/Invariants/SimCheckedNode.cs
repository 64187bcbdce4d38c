using System.Diagnostics.CodeAnalysis;
using KeplerSim.Core.Manifests;
using KeplerSim.Sim.Kernel;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Sim.Invariants;

/// <summary>A simulated node as the checkers see it: its simulated disk's chunk files through the run's
/// <see cref="ClusterInspector"/> (cached per disk generation and content stamp) and its inspection connection.
/// </summary>
/// <param name="node">The simulated node.</param>
/// <param name="inspector">The run's inspector (its caches make a check cost what changed).</param>
public sealed class SimCheckedNode(SimNode node, ClusterInspector inspector) : ICheckedNode
{
    /// <summary>The simulated node.</summary>
    public SimNode Node => node;

    /// <inheritdoc/>
    public string Name => node.Name;

    /// <inheritdoc/>
    public bool Started => node.Epoch > 0;

    /// <inheritdoc/>
    public int Epoch => node.Epoch;

    /// <inheritdoc/>
    public bool Running => node.State == SimNodeState.Running;

    /// <inheritdoc/>
    public string State => node.State.ToString();

    /// <inheritdoc/>
    public long WallMicroseconds => node.Clock.WallMicroseconds;

    /// <inheritdoc/>
    public IReadOnlyList<ChunkFile> ChunkFiles() => inspector.ChunkFiles(node);

    /// <inheritdoc/>
    public IReadOnlyList<ChunkFile> MismatchedChunkFiles() => inspector.MismatchedChunkFiles(node);

    /// <inheritdoc/>
    public bool TryQuery<T>(Func<SqliteConnection, T> query, [MaybeNullWhen(false)] out T result) =>
        ClusterInspector.TryRead(node, query, out result);

    private RowChanges? _files;

    /// <inheritdoc/>
    public bool TryQueryChangedWinners(
        [MaybeNullWhen(false)] out IReadOnlyList<(string Path, VersionToken Version)> winners)
    {
        _files ??= node.Metadata.Track("files");
        if (!_files.All && _files.Rows.Count == 0)
        {
            winners = [];
            return true;
        }

        var rows = _files.Rows;
        var found = _files.All
            ? TryQuery(MetadataQueries.WinningVersions, out winners)
            : TryQuery(c => MetadataQueries.WinningVersionsOfRows(c, rows), out winners);
        if (found)
        {
            _files.Clear();
        }

        return found;
    }

    /// <inheritdoc/>
    public bool HoldsDurableIntact(string id) => inspector.HoldsDurableIntact(node, id);

    /// <inheritdoc/>
    public bool HoldsChunkFile(string id) => node.Disk.Exists(Core.Storage.ChunkStore.PathOf(id));

    /// <inheritdoc/>
    public bool KnownDurableIntact(string id) => inspector.KnownDurableIntact(node, id);
}
