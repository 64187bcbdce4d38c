using System.Diagnostics.CodeAnalysis;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// Reads the cluster's state from outside the protocol: chunk files on each simulated disk
/// (<c>chunks/ab/cd/&lt;64-hex id&gt;</c>, tmp files under <c>chunks/tmp/</c> ignored) and each node's SQLite
/// metadata through an inspection connection (read-only queries; a locked table counts as "busy").
/// </summary>
public sealed class ClusterInspector(Simulation sim)
{
    // (node, path) -> (stamp, matches) of the last verification: the file is read and hashed again only when its
    // content changed (SimDisk.StampOf moved), so a check costs what changed, not every byte on every disk.
    private readonly Dictionary<(string Node, string Path), (long Stamp, bool Matches)> _verified = [];

    // The chunk files of each node as of one disk generation, brought up to date from the disk's change log
    // (SimDisk.ChangedSince): a check after a few writes looks at those files, not at every file on the disk.
    private readonly Dictionary<string, DiskView> _views = new(StringComparer.Ordinal);

    // Each node's chunks table as the checkers last read it, brought up to date from the rows its connections
    // changed since (SimMetadata.Track): a check reads a few rows, not every chunk the node holds.
    private readonly Dictionary<string, IndexView> _indexes = new(StringComparer.Ordinal);

    /// <summary>Forgets the cached verification of a file (a fault touched it).</summary>
    public void Invalidate(string node, string path)
    {
        _verified.Remove((node, path));
        _views.Remove(node);
    }

    /// <summary>The chunk files on <paramref name="node"/>'s disk, ordered by path.</summary>
    public IReadOnlyList<ChunkFile> ChunkFiles(SimNode node) => ViewOf(node).List;

    /// <summary>The chunk files on <paramref name="node"/>'s disk whose content does not match their id, ordered by
    /// path (kept as files change: the safety check asks every second, and nearly always the answer is none).
    /// </summary>
    public IReadOnlyList<ChunkFile> MismatchedChunkFiles(SimNode node) =>
        ViewOf(node).Mismatched is { Count: > 0 } bad ? [.. bad.Values] : [];

    /// <summary>The chunk file on <paramref name="node"/>'s disk whose name claims <paramref name="id"/>, if
    /// any.</summary>
    public ChunkFile? ChunkFileOf(SimNode node, string id) =>
        ViewOf(node).ById.TryGetValue(id, out var file) ? file : null;

    /// <summary>
    /// Whether <paramref name="id"/>'s file on <paramref name="node"/> was found durable and intact (by
    /// <see cref="NoteDurableIntact"/>) and has not changed since: durability only goes away with a change the
    /// disk logs (a write, rename, delete or crash), so such a chunk needs no second look.
    /// </summary>
    public bool KnownDurableIntact(SimNode node, string id) => ViewOf(node).DurableIntact.Contains(id);

    /// <summary>Records that <paramref name="id"/>'s file on <paramref name="node"/> is durable and intact now
    /// (forgotten at its next change).</summary>
    public void NoteDurableIntact(SimNode node, string id) => ViewOf(node).DurableIntact.Add(id);

    private DiskView ViewOf(SimNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var disk = node.Disk;
        if (_views.TryGetValue(node.Name, out var view) && view.Generation == disk.Generation)
        {
            return view;
        }

        if (view is null || disk.ChangedSince(view.Generation) is not { } changed)
        {
            view = new DiskView();
            if (_indexes.TryGetValue(node.Name, out var index))
            {
                index.Unconfirmed.UnionWith(index.Ids); // Nothing is known durable on a fresh view.
            }

            foreach (var path in disk.AllFiles())
            {
                Update(node, view, path);
            }
        }
        else
        {
            foreach (var path in changed)
            {
                Update(node, view, path);
            }
        }

        view.Generation = disk.Generation;
        view.ListStale();
        _views[node.Name] = view;
        return view;
    }

    /// <summary>Brings <paramref name="path"/>'s entry of <paramref name="view"/> up to date with the disk.</summary>
    private void Update(SimNode node, DiskView view, string path)
    {
        if (ChunkFile.IdOf(path) is not { } id)
        {
            return;
        }

        if (view.DurableIntact.Remove(id) && _indexes.TryGetValue(node.Name, out var index) && index.Ids.Contains(id))
        {
            index.Unconfirmed.Add(id);
        }
        if (view.Files.Remove(path, out var old) && view.ById.TryGetValue(old.Id, out var byId) && byId.Path == path)
        {
            view.ById.Remove(old.Id);
        }

        view.Mismatched.Remove(path);
        if (node.Disk.Exists(path))
        {
            var file = new ChunkFile(path, id, Verify(node, path, id) && ChunkFile.InShard(path, id));
            view.Files[path] = file;
            view.ById[id] = file;
            if (!file.Matches)
            {
                view.Mismatched[path] = file;
            }
        }
    }

    /// <summary>A node's chunk files as of one disk generation.</summary>
    private sealed class DiskView
    {
        public long Generation { get; set; } = -1;

        /// <summary>By path, in the order a walk of the disk lists them (directory by directory).</summary>
        public SortedDictionary<string, ChunkFile> Files { get; } = new(DiskPathOrder.Instance);

        public Dictionary<string, ChunkFile> ById { get; } = new(StringComparer.Ordinal);

        /// <summary>The files of <see cref="Files"/> whose content does not match their id, in the same order.</summary>
        public SortedDictionary<string, ChunkFile> Mismatched { get; } = new(DiskPathOrder.Instance);

        public HashSet<string> DurableIntact { get; } = new(StringComparer.Ordinal);

        private IReadOnlyList<ChunkFile>? _list;

        /// <summary>The files as a list, copied only when asked for after a change: an event check looks one chunk
        /// up by id after every disk change, and copying every file each time was 6 % of steady-5's profile.</summary>
        public IReadOnlyList<ChunkFile> List => _list ??= [.. Files.Values];

        public void ListStale() => _list = null;
    }

    /// <summary>Orders paths as <see cref="SimDisk.AllFiles"/> lists them: name by name, each ordinal.</summary>
    private sealed class DiskPathOrder : IComparer<string>
    {
        public static readonly DiskPathOrder Instance = new();

        public int Compare(string? x, string? y)
        {
            var a = x.AsSpan();
            var b = y.AsSpan();
            while (true)
            {
                var (i, j) = (a.IndexOf('/'), b.IndexOf('/'));
                var order = a[..(i < 0 ? a.Length : i)].SequenceCompareTo(b[..(j < 0 ? b.Length : j)]);
                if (order != 0 || i < 0 || j < 0)
                {
                    return order != 0 ? order : (i < 0 ? 0 : 1) - (j < 0 ? 0 : 1);
                }

                a = a[(i + 1)..];
                b = b[(j + 1)..];
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="node"/>'s disk holds chunk <paramref name="id"/> durably (it survives a crash now)
    /// with content that hashes to the id. One file, verified through the same cache as <see cref="ChunkFiles"/>.
    /// </summary>
    public bool HoldsDurableIntact(SimNode node, string id)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(id);
        var view = ViewOf(node);
        if (view.DurableIntact.Contains(id))
        {
            return true; // Found so before, and its file has not changed since.
        }

        var path = ChunkStore.PathOf(id);
        if (!node.Disk.Exists(path) || !node.Disk.IsDurable(path) || !Verify(node, path, id))
        {
            return false;
        }

        view.DurableIntact.Add(id);
        return true;
    }

    /// <summary>Whether the file at <paramref name="path"/> hashes to <paramref name="id"/>: from the cache while
    /// the file's content stamp stays, else read and hashed once.</summary>
    private bool Verify(SimNode node, string path, string id)
    {
        var stamp = node.Disk.StampOf(path) ?? -1;
        if (!_verified.TryGetValue((node.Name, path), out var cached) || cached.Stamp != stamp)
        {
            var data = node.Disk.Peek(path) ?? [];
            cached = (stamp, ChunkStore.IdOfFile(data, sim.Options.AtRestKey, id) == id);
            _verified[(node.Name, path)] = cached;
        }

        return cached.Matches;
    }

    /// <summary>
    /// The chunk ids (in file order) of <paramref name="version"/> of <paramref name="path"/> in the node's
    /// metadata; null if the version is not recorded there or the metadata is unreadable.
    /// </summary>
    public static IReadOnlyList<string>? VersionChunks(SimNode node, string path, VersionToken version) =>
        HasKeplerSchema(node)
            ? Query<IReadOnlyList<string>?>(node, conn => MetadataQueries.VersionChunks(conn, path, version))
            : null;

    /// <summary>Whether the node's metadata records <paramref name="version"/> of <paramref name="path"/> (winner or
    /// not); null if it is unreadable now.</summary>
    public static bool? RecordsVersion(SimNode node, string path, VersionToken version) => HasKeplerSchema(node)
        ? Query<bool?>(node, conn => MetadataQueries.RecordsVersion(conn, path, version)) : null;

    /// <summary>The winning version token of <paramref name="path"/> in the node's metadata; null if none or
    /// unreadable.</summary>
    public static VersionToken? WinnerOf(SimNode node, string path) => HasKeplerSchema(node)
        ? Query(node, conn => MetadataQueries.WinnerOf(conn, path)) : null;

    /// <summary>
    /// Garbage garbage collection should have removed by <paramref name="horizonMicroseconds"/> (node wall time):
    /// superseded, non-winning versions recorded before it that still hold chunk references, and chunks recorded
    /// before it that no live (non-tombstone) version references and no queue entry names. Ordered; null if
    /// unreadable.
    /// </summary>
    public static IReadOnlyList<string>? UncollectedGarbage(SimNode node, long horizonMicroseconds) =>
        HasKeplerSchema(node)
            ? Query(node, conn => MetadataQueries.UncollectedGarbage(conn, horizonMicroseconds))
            : null;

    /// <summary>Whether the node's <c>chunks</c> table records <paramref name="id"/>; null if unreadable.</summary>
    public static bool? IndexesChunk(SimNode node, string id) => HasKeplerSchema(node)
        ? Query<bool?>(node, conn => MetadataQueries.IndexesChunk(conn, id)) : null;

    /// <summary>Whether the node's metadata has the KeplerFS tables. Once seen, remembered: no statement drops
    /// them, and if a power loss took back their creation, a query naming them fails as an unreadable database
    /// does (every caller treats both alike). Asking SQLite's schema before each checker query doubled the
    /// statements the checkers ran.</summary>
    public static bool HasKeplerSchema(SimNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (s_schemaSeen.TryGetValue(node.Metadata, out _))
        {
            return true;
        }

        var seen = Query<bool?>(node, conn => MetadataQueries.HasKeplerSchema(conn)) ?? false;
        if (seen)
        {
            s_schemaSeen.AddOrUpdate(node.Metadata, s_seen);
        }

        return seen;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SimMetadata, object> s_schemaSeen =
        new();

    private static readonly object s_seen = new();

    /// <summary>
    /// The runtime replication factor change the node's metadata holds (null: none); <paramref name="readable"/>
    /// is false when the database is busy or not KeplerFS's.
    /// </summary>
    public static Core.Membership.ClusterSettings? HeldSettings(SimNode node, out bool readable)
    {
        var text = HasKeplerSchema(node) ? Query(node, MetadataQueries.HeldSettings) : null;
        readable = text is not null;
        return Core.Membership.ClusterSettings.Parse(text);
    }

    /// <summary>Entries in the node's replication queue, or null if the database is busy or not KeplerFS's.</summary>
    public static long? QueueDepth(SimNode node) =>
        HasKeplerSchema(node) ? Query<long?>(node, conn => MetadataQueries.QueueDepth(conn)) : null;

    /// <summary>Chunk ids referenced by the node's current live file versions: winners and conflict versions
    /// (neither superseded nor tombstones), ordered; null if unreadable. A conflict version is readable by its
    /// token, so its chunks must stay on their owners as a winner's do.</summary>
    public static IReadOnlyList<string>? ReferencedChunks(SimNode node) =>
        HasKeplerSchema(node) ? Query(node, MetadataQueries.ReferencedChunks) : null;

    /// <summary>The winning version token of every path in the node's metadata (ordered by path), or null if
    /// unreadable.</summary>
    public static IReadOnlyList<(string Path, VersionToken Version)>? WinningVersions(SimNode node) =>
        HasKeplerSchema(node) ? Query(node, MetadataQueries.WinningVersions) : null;

    /// <summary>Every recorded version (winner, conflict or history) of every path, ordered by path and token; null
    /// if unreadable.</summary>
    public static IReadOnlyList<(string Path, VersionToken Version)>? AllVersions(SimNode node) =>
        HasKeplerSchema(node) ? Query(node, MetadataQueries.AllVersions) : null;

    /// <summary>
    /// Whether the node's metadata holds <paramref name="version"/> of <paramref name="path"/> (winner or not) and
    /// the path's winning token; null if unreadable.
    /// </summary>
    public static (bool Kept, VersionToken? Winner)? VersionState(SimNode node, string path, VersionToken version) =>
        HasKeplerSchema(node)
            ? Query<(bool, VersionToken?)?>(node, conn => MetadataQueries.VersionState(conn, path, version))
            : null;

    /// <summary>Parses a version token as <see cref="VersionToken.ToString"/> writes it
    /// (<c>wall.logical@node</c>); null if it is not one.</summary>
    public static VersionToken? ParseVersion(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var dot = at < 0 ? -1 : text.LastIndexOf('.', at);
        return dot > 0
            && long.TryParse(text[..dot], System.Globalization.NumberStyles.AllowLeadingSign,
                System.Globalization.CultureInfo.InvariantCulture, out var wall)
            && int.TryParse(text[(dot + 1)..at], System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var logical)
            ? new VersionToken(wall, logical, new NodeId(text[(at + 1)..]))
            : null;
    }

    /// <summary>Chunk ids the node's <c>chunks</c> table counts as held here (ordered), or null if
    /// unreadable.</summary>
    public static IReadOnlyList<string>? IndexedChunks(SimNode node) =>
        TryRead(node, MetadataQueries.IndexedChunks, out var ids) ? ids : null;

    /// <summary>
    /// The ids of <see cref="IndexedChunks"/> (ordinal order) not known durable and intact now
    /// (<see cref="KnownDurableIntact"/>), or null if unreadable. The index is kept up to date from the rows the
    /// node changed since the last call (the whole table is read only on the first call and after a power loss
    /// restored the database), and an id comes back to this list only when its file changes: a check costs what
    /// changed, not every chunk the node holds.
    /// </summary>
    public IReadOnlyList<string>? UnconfirmedIndexedChunks(SimNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!_indexes.TryGetValue(node.Name, out var index))
        {
            _indexes[node.Name] = index = new IndexView(node.Metadata.Track("chunks"));
        }

        var view = ViewOf(node);
        if (IndexedChunksNow(node, index) is null)
        {
            return null;
        }

        index.Unconfirmed.RemoveWhere(view.DurableIntact.Contains);
        return [.. index.Unconfirmed];
    }

    private static IReadOnlyCollection<string>? IndexedChunksNow(SimNode node, IndexView index)
    {
        var changes = index.Changes;
        if (!changes.All && changes.Rows.Count == 0)
        {
            return index.Ids;
        }

        var rows = changes.Rows;
        if (!TryRead(node, c => changes.All ? MetadataQueries.ChunkRows(c) : MetadataQueries.ChunkRows(c, rows),
                out var found))
        {
            return null;
        }

        if (changes.All)
        {
            index.ById.Clear();
            index.Ids.Clear();
            index.Unconfirmed.Clear();
        }

        foreach (var row in changes.All ? [] : rows)
        {
            if (index.ById.Remove(row, out var gone))
            {
                index.Ids.Remove(gone);
                index.Unconfirmed.Remove(gone);
            }
        }

        foreach (var (row, id) in found)
        {
            index.ById[row] = id;
            index.Ids.Add(id);
            index.Unconfirmed.Add(id);
        }

        changes.Clear();
        return index.Ids;
    }

    private sealed class IndexView(RowChanges changes)
    {
        public RowChanges Changes => changes;

        public Dictionary<long, string> ById { get; } = [];

        public SortedSet<string> Ids { get; } = new(StringComparer.Ordinal);

        /// <summary>The ids of <see cref="Ids"/> not found durable and intact since they were indexed or their file
        /// last changed (a superset of those not in the disk view's durable set).</summary>
        public SortedSet<string> Unconfirmed { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>
    /// Runs a read-only query on the node's metadata through its inspection connection; false when the database is
    /// not KeplerFS's or locked by an open transaction of the node (the next check tries again).
    /// </summary>
    public static bool TryRead<T>(SimNode node, Func<SqliteConnection, T> query, [MaybeNullWhen(false)] out T result)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(query);
        result = default;
        if (!HasKeplerSchema(node))
        {
            return false;
        }

        try
        {
            result = query(node.Metadata.Inspection);
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
    }

    private static T? Query<T>(SimNode node, Func<SqliteConnection, T> query)
    {
        try
        {
            return query(node.Metadata.Inspection);
        }
        catch (SqliteException)
        {
            return default; // Locked by an open transaction of the node: try again at the next check.
        }
    }
}
