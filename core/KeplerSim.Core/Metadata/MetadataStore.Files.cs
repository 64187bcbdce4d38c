using KeplerSim.Core.Runtime;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Metadata;

public sealed partial class MetadataStore
{
    private const string FileColumns = "id, path, size, chunk_ids, chunk_size, content_id, version_wall_us, " +
        "version_logical, version_node, origin_node, tombstone, is_winner, created_at, manifest, superseded";

    // Versions compare by token (wall, logical, node), highest first; the id only breaks exact ties.
    private const string VersionOrderDescending =
        "version_wall_us DESC, version_logical DESC, version_node DESC, id";

    /// <summary>
    /// Records a file version and its chunk references. When <see cref="FileRow.IsWinner"/> is set, the path's
    /// previous winner becomes a conflict version in the same step. Returns false, changing nothing, when a version
    /// with this id is already recorded (manifests arrive many times by gossip); use <see cref="MarkWinner"/> to
    /// change which version wins.
    /// </summary>
    public bool InsertFileVersion(FileRow file)
    {
        CheckFile(file);
        var chunkIds = ChunkIdList.Encode(file.ChunkIds);
        var inserted = false;
        Atomically(() =>
        {
            if (_fileSql.Exists.ScalarInt64(file.Id) == 1)
            {
                return;
            }

            if (file.IsWinner)
            {
                _fileSql.ClearWinner.NonQuery(file.Path);
            }

            _fileSql.Insert.NonQuery(file.Id, file.Path, file.SizeBytes, chunkIds, file.ChunkSizeBytes,
                file.ContentId, file.VersionWallUs, file.VersionLogical, file.VersionNode.Value,
                file.OriginNode.Value, file.Tombstone, file.IsWinner, file.CreatedAtUs, file.Manifest, file.Superseded);
            for (var index = 0; index < file.ChunkIds.Count; index++)
            {
                _fileSql.InsertReference.NonQuery(file.Id, index, file.ChunkIds[index]);
            }

            inserted = true;
        });
        return inserted;
    }

    /// <summary>
    /// Superseded versions recorded before <paramref name="beforeUs"/> that still hold chunk references: history
    /// whose chunks garbage collection may reclaim once the references are dropped.
    /// </summary>
    public IReadOnlyList<string> ListSupersededWithReferences(long beforeUs, int limit = ListBatchMax)
    {
        Check.Limit(limit, ListBatchMax, nameof(limit));
        return _fileSql.SupersededWithRefs.Rows(r => r.GetString(0), limit, beforeUs, limit);
    }

    /// <summary>
    /// Drops a version's chunk references, keeping the row (and its manifest) so the version is never taken for
    /// new when a peer sends it again. Returns how many references were dropped.
    /// </summary>
    public int DropChunkReferences(string fileId)
    {
        Check.Id(fileId, nameof(fileId));
        return _fileSql.DropReferences.NonQuery(fileId);
    }

    /// <summary>Marks a version as superseded (history) or not; returns whether anything changed.</summary>
    public bool SetSuperseded(string fileId, bool superseded)
    {
        Check.Id(fileId, nameof(fileId));
        return _fileSql.SetSuperseded.NonQuery(fileId, superseded) == 1;
    }

    /// <summary>Every version of every path (tombstones, conflicts and history too), by id, a page at a time.</summary>
    public IReadOnlyList<FileRow> ListAllFileVersions(string? afterId = null, int limit = ListBatchMax)
    {
        Check.Limit(limit, ListBatchMax, nameof(limit));
        return _fileSql.AllVersions.Rows(ReadFile, limit, afterId ?? "", limit);
    }

    /// <summary>Returns one version by id, or null.</summary>
    public FileRow? GetFileVersion(string id)
    {
        Check.Id(id, nameof(id));
        return _fileSql.Get.Single(ReadFile, id);
    }

    /// <summary>
    /// The best version whose content id is <paramref name="contentId"/> and whose bytes are still kept, or null:
    /// not a tombstone, and either the path's winner, or a version that still holds its chunk references (a
    /// conflict version, or history that garbage collection has not reclaimed yet), or an empty file. Winners come
    /// first, then conflict versions, then history, newest first. One seek on the content index (migration 4).
    /// </summary>
    public FileRow? FindByContentId(string contentId)
    {
        Check.Id(contentId, nameof(contentId));
        return _fileSql.ByContent.Single(ReadFile, contentId);
    }

    /// <summary>Returns the path's current version (which may be a tombstone), or null when none is recorded.</summary>
    public FileRow? GetWinner(string path)
    {
        Check.Path(path, nameof(path));
        return _fileSql.GetWinner.Single(ReadFile, path);
    }

    /// <summary>The path's versions, winner and conflicts, highest version token first.</summary>
    public IReadOnlyList<FileRow> ListFileVersions(string path, int limit = ListBatchMax)
    {
        Check.Path(path, nameof(path));
        Check.Limit(limit, ListBatchMax, nameof(limit));
        return _fileSql.Versions.Rows(ReadFile, limit, path, limit);
    }

    /// <summary>
    /// Paths starting with <paramref name="prefix"/> whose current version is not a tombstone, ordered by UTF-8
    /// bytes (Unicode code point order), starting after <paramref name="afterPath"/>. The prefix is literal:
    /// '%', '_' and '\' have no special meaning.
    /// </summary>
    public IReadOnlyList<string> ListPaths(string prefix, string? afterPath = null, int limit = ListBatchMax)
    {
        Check.Prefix(prefix, nameof(prefix));
        Check.Limit(limit, ListBatchMax, nameof(limit));
        // A range on the path index instead of LIKE: no escaping to get wrong, and it is case-sensitive.
        var upper = PrefixUpperBound(prefix);
        var after = afterPath ?? string.Empty;
        return upper is null
            ? _fileSql.PathsFrom.Rows(reader => reader.GetString(0), limit, prefix, after, limit)
            : _fileSql.PathsBetween.Rows(reader => reader.GetString(0), limit, prefix, upper, after, limit);
    }

    /// <summary>
    /// Makes the version the current one for its path; the previous winner becomes a conflict version. False when
    /// no version has this id.
    /// </summary>
    public bool MarkWinner(string fileId)
    {
        Check.Id(fileId, nameof(fileId));
        var found = false;
        Atomically(() =>
        {
            var path = (string?)_fileSql.PathOf.Scalar(fileId);
            if (path is null)
            {
                return;
            }

            _fileSql.ClearWinner.NonQuery(path);
            Invariant.That(_fileSql.SetWinner.NonQuery(fileId) == 1, "the version marked winner exists");
            found = true;
        });
        return found;
    }

    /// <summary>Forgets a version and its chunk references (a superseded version); false when unknown.</summary>
    public bool DeleteFileVersion(string id)
    {
        Check.Id(id, nameof(id));
        return _fileSql.Delete.NonQuery(id) == 1;
    }

    /// <summary>
    /// The smallest string greater than every string that starts with <paramref name="prefix"/>, in code point
    /// order (which is SQLite's BINARY order on UTF-8): the prefix with its last code point incremented, dropping
    /// trailing U+10FFFF. Null when no such bound exists (empty prefix, or only U+10FFFF).
    /// </summary>
    internal static string? PrefixUpperBound(string prefix)
    {
        var end = prefix.Length;
        while (end > 0)
        {
            var start = end - 1;
            if (char.IsLowSurrogate(prefix[start]) && start > 0 && char.IsHighSurrogate(prefix[start - 1]))
            {
                start--;
            }

            var codePoint = char.ConvertToUtf32(prefix, start);
            if (codePoint < 0x10FFFF)
            {
                // Skip the surrogate range, which holds no code points.
                var next = codePoint == 0xD7FF ? 0xE000 : codePoint + 1;
                return string.Concat(prefix.AsSpan(0, start), char.ConvertFromUtf32(next));
            }

            end = start;
        }

        return null;
    }

    private static void CheckFile(FileRow file)
    {
        ArgumentNullException.ThrowIfNull(file);
        Check.Id(file.Id, nameof(file));
        Check.Path(file.Path, nameof(file));
        Check.NonNegative(file.SizeBytes, nameof(file));
        Check.NonNegative(file.ChunkSizeBytes, nameof(file));
        Check.Id(file.ContentId, nameof(file));
        Check.NonNegative(file.VersionWallUs, nameof(file));
        Check.NonNegative(file.VersionLogical, nameof(file));
        Check.Node(file.VersionNode, nameof(file));
        Check.Node(file.OriginNode, nameof(file));
        ArgumentNullException.ThrowIfNull(file.ChunkIds, nameof(file));
        if (file.ChunkIds.Count > FileChunkCountMax)
        {
            throw new ArgumentException($"lists {file.ChunkIds.Count} chunks, more than {FileChunkCountMax}",
                nameof(file));
        }

        foreach (var chunkId in file.ChunkIds)
        {
            Check.Id(chunkId, nameof(file));
        }
    }

    private static FileRow ReadFile(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.GetInt64(2),
        ChunkIdList.Decode(reader.GetString(3)),
        reader.GetInt64(4),
        reader.GetString(5),
        reader.GetInt64(6),
        reader.GetInt64(7),
        new NodeId(reader.GetString(8)),
        new NodeId(reader.GetString(9)),
        reader.GetInt64(10) == 1,
        reader.GetInt64(11) == 1,
        reader.GetInt64(12),
        reader.IsDBNull(13) ? null : (byte[])reader.GetValue(13),
        reader.GetInt64(14) == 1);

    private sealed class FileSql(Func<string, string[], Statement> prepare)
    {
        public Statement Exists { get; } = prepare("SELECT EXISTS (SELECT 1 FROM files WHERE id = $id)", ["$id"]);

        public Statement Insert { get; } = prepare(
            $"INSERT INTO files({FileColumns}) VALUES ($id, $path, $size, $chunks, $chunk_size, $content, " +
            "$wall, $logical, $node, $origin, $tombstone, $winner, $created, $manifest, $superseded)",
            ["$id", "$path", "$size", "$chunks", "$chunk_size", "$content", "$wall", "$logical", "$node", "$origin",
                "$tombstone", "$winner", "$created", "$manifest", "$superseded"]);

        public Statement SupersededWithRefs { get; } = prepare(
            "SELECT f.id FROM files f WHERE f.superseded = 1 AND f.is_winner = 0 AND f.created_at < $before " +
            "AND EXISTS (SELECT 1 FROM chunk_refs r WHERE r.file_id = f.id) ORDER BY f.id LIMIT $limit",
            ["$before", "$limit"]);

        public Statement DropReferences { get; } = prepare("DELETE FROM chunk_refs WHERE file_id = $id", ["$id"]);

        public Statement SetSuperseded { get; } = prepare(
            "UPDATE files SET superseded = $superseded WHERE id = $id AND superseded <> $superseded",
            ["$id", "$superseded"]);

        public Statement AllVersions { get; } = prepare(
            $"SELECT {FileColumns} FROM files WHERE id > $after ORDER BY id LIMIT $limit", ["$after", "$limit"]);

        public Statement InsertReference { get; } = prepare(
            "INSERT INTO chunk_refs(file_id, idx, chunk_id) VALUES ($file, $idx, $chunk)", ["$file", "$idx", "$chunk"]);

        public Statement Get { get; } = prepare($"SELECT {FileColumns} FROM files WHERE id = $id", ["$id"]);

        public Statement GetWinner { get; } = prepare(
            $"SELECT {FileColumns} FROM files WHERE path = $path AND is_winner = 1", ["$path"]);

        public Statement Versions { get; } = prepare(
            $"SELECT {FileColumns} FROM files WHERE path = $path ORDER BY {VersionOrderDescending} LIMIT $limit",
            ["$path", "$limit"]);

        public Statement PathsFrom { get; } = prepare(
            "SELECT path FROM files WHERE is_winner = 1 AND tombstone = 0 AND path >= $prefix AND path > $after " +
            "ORDER BY path LIMIT $limit", ["$prefix", "$after", "$limit"]);

        public Statement PathsBetween { get; } = prepare(
            "SELECT path FROM files WHERE is_winner = 1 AND tombstone = 0 AND path >= $prefix AND path < $upper " +
            "AND path > $after ORDER BY path LIMIT $limit", ["$prefix", "$upper", "$after", "$limit"]);

        // Rows of one content id are few (the same bytes stored under several paths or versions); the index
        // orders them, and EXISTS stops at the first chunk reference.
        public Statement ByContent { get; } = prepare(
            $"SELECT {FileColumns} FROM files f WHERE content_id = $content AND tombstone = 0 " +
            "AND (is_winner = 1 OR size = 0 OR EXISTS (SELECT 1 FROM chunk_refs r WHERE r.file_id = f.id)) " +
            "ORDER BY is_winner DESC, superseded, version_wall_us DESC, version_logical DESC, version_node DESC " +
            "LIMIT 1", ["$content"]);

        public Statement PathOf { get; } = prepare("SELECT path FROM files WHERE id = $id", ["$id"]);

        public Statement ClearWinner { get; } = prepare(
            "UPDATE files SET is_winner = 0 WHERE path = $path AND is_winner = 1", ["$path"]);

        public Statement SetWinner { get; } = prepare("UPDATE files SET is_winner = 1 WHERE id = $id", ["$id"]);

        public Statement Delete { get; } = prepare("DELETE FROM files WHERE id = $id", ["$id"]);
    }
}
