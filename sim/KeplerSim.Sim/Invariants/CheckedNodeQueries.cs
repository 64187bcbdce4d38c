using KeplerSim.Core.Manifests;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// The metadata reads the event checkers make at an event, on any host's <see cref="ICheckedNode"/>: each null when
/// the metadata cannot be read now (busy, missing, not KeplerFS's), so a check skips rather than guesses.
/// </summary>
public static class CheckedNodeQueries
{
    /// <summary>The chunk ids (in file order) of <paramref name="version"/> of <paramref name="path"/>; null if the
    /// version is not recorded there or the metadata is unreadable.</summary>
    public static IReadOnlyList<string>? VersionChunks(this ICheckedNode node, string path, VersionToken version) =>
        Read(node, c => MetadataQueries.VersionChunks(c, path, version));

    /// <summary>Whether the metadata records <paramref name="version"/> of <paramref name="path"/>; null if
    /// unreadable.</summary>
    public static bool? RecordsVersion(this ICheckedNode node, string path, VersionToken version) =>
        Read<bool?>(node, c => MetadataQueries.RecordsVersion(c, path, version));

    /// <summary>The winning version of <paramref name="path"/>; null if none or unreadable.</summary>
    public static VersionToken? WinnerOf(this ICheckedNode node, string path) =>
        Read(node, c => MetadataQueries.WinnerOf(c, path));

    /// <summary>Whether the <c>chunks</c> table records <paramref name="id"/>; null if unreadable.</summary>
    public static bool? IndexesChunk(this ICheckedNode node, string id) =>
        Read<bool?>(node, c => MetadataQueries.IndexesChunk(c, id));

    /// <summary>Whether the node holds <paramref name="id"/> as an owner's copy (its row <c>durable</c>); false for a
    /// hinted copy or none, null if unreadable.</summary>
    public static bool? HoldsAsOwner(this ICheckedNode node, string id) =>
        Read<bool?>(node, c => MetadataQueries.ChunkState(c, id) == "durable");

    /// <summary>Whether the metadata can be read now (it has KeplerFS's tables and is not locked).</summary>
    public static bool MetadataReadable(this ICheckedNode node) =>
        Read<long?>(node, c => MetadataQueries.QueueDepth(c)) is not null;

    private static T? Read<T>(ICheckedNode node, Func<Microsoft.Data.Sqlite.SqliteConnection, T> query)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.TryQuery(query, out var result) ? result : default;
    }
}
