using KeplerSim.Core.Manifests;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;

namespace KeplerSim.Core.Node;

public sealed partial class KeplerNode
{
    /// <inheritdoc />
    public async Task<FileVersionInfo> GetAsync(string path, Stream destination, long offset = 0, long? length = null,
        string? version = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var filePath = FilePath.Parse(path);
        using var transfer = BeginClientTransfer();
        await EnsureReadyAsync();
        var (manifest, isWinner) = version is null
            ? (await ResolveLiveManifestAsync(filePath), true)
            : FindVersion(filePath, version);
        if (offset < 0 || offset > manifest.SizeBytes || length < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"range {offset}+{length} is outside '{path}' of {manifest.SizeBytes} bytes");
        }

        var end = Math.Min(manifest.SizeBytes, offset + (length ?? manifest.SizeBytes));
        var chunkSize = (long)manifest.ChunkSizeBytes;
        var first = (int)(offset / Math.Max(1, chunkSize));
        var last = end == 0 ? -1 : (int)Math.Min(manifest.Chunks.Count - 1, (end - 1) / Math.Max(1, chunkSize));

        // The next chunk is read and verified while the current one goes to the client: two chunk buffers (pooled)
        // whatever the file's size, and the disk and the network are busy at once.
        Task<ChunkBuffer>? next = first <= last ? ReadChunkAsync(manifest.Chunks[first].Hex) : null;
        try
        {
            for (var index = first; index <= last; index++)
            {
                var current = next!;
                next = null;
                using var data = await current;
                next = index < last ? ReadChunkAsync(manifest.Chunks[index + 1].Hex) : null;
                var chunkStart = index * chunkSize;
                var from = (int)Math.Max(0, offset - chunkStart);
                var to = (int)Math.Min(data.Length, end - chunkStart);
                await destination.WriteAsync(data.Data[from..to]);
            }
        }
        finally
        {
            // A failed write leaves the prefetch running: let it finish and hand its buffer back.
            if (next is not null)
            {
                try
                {
                    (await next).Dispose();
                }
                catch (Exception)
                {
                    // Already failing: the first failure is the one reported.
                }
            }
        }

        Metrics.ReadsServed++;
        return Describe(manifest, isWinner);
    }

    /// <inheritdoc />
    public async Task<FileVersionInfo> StatAsync(string path)
    {
        var filePath = FilePath.Parse(path);
        await EnsureReadyAsync();
        return Describe(await ResolveLiveManifestAsync(filePath), isWinner: true);
    }

    /// <inheritdoc />
    public async Task<FileListing> ListAsync(string prefix, string? after = null, int limit = 1000)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        await EnsureReadyAsync();
        var page = Math.Clamp(limit, 1, MetadataStore.ListBatchMax);
        var paths = Meta.ListPaths(prefix, after, page);
        var showHidden = IsHidden(prefix);
        var result = new List<FileVersionInfo>(paths.Count);
        foreach (var path in paths)
        {
            if (Meta.GetWinner(path) is { Tombstone: false } row && (showHidden || !IsHidden(path)))
            {
                result.Add(Describe(row));
            }
        }

        // A full page is truncated only when one more live path follows it: the last page never sends a client
        // back for an empty one.
        var next = paths.Count == page && Meta.ListPaths(prefix, paths[^1], 1).Count > 0
                ? paths[^1]
                : null;
        return new FileListing(result, next);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<FileVersionInfo>> VersionsAsync(string path)
    {
        var filePath = FilePath.Parse(path);
        await EnsureReadyAsync();
        return Meta.ListFileVersions(filePath.Value).Where(r => r.IsWinner || !r.Superseded).Select(Describe).ToList();
    }

    /// <summary>
    /// The version this node keeps whose content id is <paramref name="contentId"/> (the winner of a path if one
    /// has it, else a conflict version, else history whose chunks are not collected yet), or null. Content is
    /// immutable, so any such version serves the bytes. One index seek (metadata migration 4).
    /// </summary>
    public async Task<FileVersionInfo?> FindContentAsync(string contentId)
    {
        ArgumentException.ThrowIfNullOrEmpty(contentId);
        await EnsureReadyAsync();
        return Meta.FindByContentId(contentId) is { } row ? Describe(row) : null;
    }

    /// <summary>The live version of <paramref name="path"/> whose token is <paramref name="version"/>, and whether it
    /// is the path's winner here (an older version named by a client is history or a conflict).</summary>
    private (Manifest Manifest, bool IsWinner) FindVersion(FilePath path, string version)
    {
        // The row id is the version token in fixed width: one primary-key lookup, however many versions exist.
        var row = RowIdOf(version) is { } id && id.Length <= MetadataStore.IdLengthMax
            && Meta.GetFileVersion(id) is { } byId && byId.Path == path.Value
            ? byId
            : Meta.ListFileVersions(path.Value).FirstOrDefault(r => TokenOf(r).ToString() == version);
        return row is null || row.Tombstone
            ? throw new FileNotFoundInClusterException($"{path.Value} version {version}")
            : (FromRow(row), row.IsWinner);
    }

    private async Task<Manifest> ResolveLiveManifestAsync(FilePath path)
    {
        var manifest = await ResolveManifestAsync(path);
        return manifest is null || manifest.IsTombstone ? throw new FileNotFoundInClusterException(path.Value) : manifest;
    }

    /// <summary>
    /// The newest version of <paramref name="path"/>: this node's, or if it has none, the newest any reachable
    /// peer has (which is then recorded here: read repair).
    /// </summary>
    private async Task<Manifest?> ResolveManifestAsync(FilePath path)
    {
        if (Meta.GetWinner(path.Value) is { } row)
        {
            return FromRow(row);
        }

        var answers = await Task.WhenAll(Cluster.Members.Where(m => m.Id != Id).Select(m => AskManifestAsync(m, path)));
        Manifest? newest = null;
        foreach (var answer in answers)
        {
            if (answer is not null && (newest is null || answer.Version > newest.Version))
            {
                newest = answer;
            }
        }

        if (newest is not null)
        {
            ApplyManifest(newest);
        }

        return newest;
    }

    private async Task<Manifest?> AskManifestAsync(Member member, FilePath path)
    {
        try
        {
            var reply = await _client.RequestAsync<GetManifestReply>(member.Id, new GetManifestRequest(path.Value));
            if (reply.Manifest is null)
            {
                return null;
            }

            var manifest = ManifestCodec.Decode(reply.Manifest);
            return manifest.Path == path ? manifest : null;
        }
        catch (Exception e) when (TransferChannel.IsTransferFailure(e) || e is InvalidManifestException)
        {
            return null;
        }
    }

    /// <summary>
    /// A chunk's verified bytes (the caller disposes them): from the local store, else from its owners in ring
    /// order, else from any other member (a hinted copy). Corrupt, missing, unreadable or slow replicas are
    /// skipped. A local owned copy that was bad is repaired from the replica that answered; one that could not be
    /// read (a disk I/O error) is left for scrub, it may be intact.
    /// </summary>
    private async Task<ChunkBuffer> ReadChunkAsync(string id)
    {
        bool unreadable;
        try
        {
            var local = await Store.ReadAsync(id);
            if (local.IsOk)
            {
                return local.TakeBuffer();
            }

            unreadable = false;
        }
        catch (IOException)
        {
            // A disk read error on the local copy: read another replica. It failed the whole GET although other owners
            // held the chunk (chaos-swim-buggify seed 22; chaos-swarm seeds 3, 4, 9, 11).
            unreadable = true;
        }

        foreach (var node in ReplicaCandidates(id))
        {
            if (await _client.FetchChunkAsync(node, id) is { } data)
            {
                if (!unreadable && OwnsChunk(id))
                {
                    await RepairLocalAsync(id, data, node, duringRead: true);
                }

                return ChunkBuffer.Wrap(data);
            }
        }

        throw new ChunkUnavailableException($"no intact replica of chunk {id} could be read");
    }

    /// <summary>
    /// The local copy of <paramref name="id"/> failed verification: forgets it, restores it from a peer if one
    /// holds it, else deletes the file (its bytes can never be served). Returns whether it was restored.
    /// </summary>
    internal async Task<bool> ReplaceCorruptLocalCopyAsync(string id)
    {
        Meta.DeleteChunk(id);
        // Remembered as lost before the first await: a crash while the restore below waited on peers left the chunk
        // neither indexed nor remembered, startup deleted the corrupt file as an unknown one, and only a peer's
        // repair scan (a minute later) brought it back (chaos fixed case dvhEZipEY2J7:
        // scenarios/regressions/crash-during-scrub-repair.yaml). The lost-chunk restore drops it once it is stored.
        RestoreLater(id);
        if (await RestoreChunkAsync(id))
        {
            return true;
        }

        // While the restore waited on peers, another path (a replica pushed or offered here, a client write) may
        // have stored a verified copy and recorded it: that copy stays. Deleting it left a row whose file was gone
        // (chaos: scenarios/regressions/offer-races-scrub.yaml).
        if (Meta.GetChunk(id) is not null)
        {
            return true;
        }

        try
        {
            await Store.DeleteAsync(id);
        }
        catch (IOException)
        {
            // Left on disk: a later write of the chunk replaces a corrupt copy.
        }

        return false;
    }

    /// <summary>
    /// Fetches a verified copy of a chunk from another node and stores it here (scrub repair). False if no
    /// replica could be read or the local disk refused the copy.
    /// </summary>
    internal async Task<bool> RestoreChunkAsync(string id)
    {
        foreach (var node in ReplicaCandidates(id))
        {
            if (await _client.FetchChunkAsync(node, id) is { } data)
            {
                // A copy the disk refused is no repair: reporting it as one left a corrupt file with no row, which
                // nothing looked at again (chaos seed 000bi0-VBK22: scenarios/regressions/scrub-repair-disk-full.yaml).
                return await RepairLocalAsync(id, data, node, duringRead: false);
            }
        }

        return false;
    }

    /// <summary>Where a copy of a chunk may be: its owners in ring order, then every other member (hinted copies).</summary>
    private IEnumerable<NodeId> ReplicaCandidates(string id)
    {
        var owners = Ring.OwnersOf(id);
        return owners.Concat(Cluster.Ids.Where(n => !owners.Contains(n))).Where(n => n != Id);
    }

    /// <summary>
    /// Stores a verified copy fetched from <paramref name="source"/>; false when the disk refused it (full, or an
    /// I/O error). Only repairs made while serving a read count as read repairs; scrub counts its own (a scrub
    /// repair once also counted here, inflating kepler_read_repairs_total).
    /// </summary>
    private async Task<bool> RepairLocalAsync(string id, byte[] data, NodeId source, bool duringRead)
    {
        // A delete of the chunk under way (the collector's) would remove the file this writes after its row is
        // recorded: wait for it, as a local write does (a restore of a chunk collected a moment ago comes here).
        await WaitWhileCollectedAsync(id);
        if (!_server.TryReserve(id))
        {
            return true; // A peer is storing this chunk here right now: its store writes and records the copy.
        }

        try
        {
            await Store.WriteAsync(id, data);
            Meta.Transaction(meta => RecordLocalChunk(meta, id, data.Length, requestId: null, replicate: false));
            Metrics.ReadRepairs += duringRead ? 1 : 0;
            _runtime.Events.Publish(new ChunkReadRepaired(id, source.Value));
            return true;
        }
        catch (IOException)
        {
            // A read is served anyway and its local copy keeps its row, so scrub finds it again; a scrub or restore
            // repair sees false and leaves the chunk to the lost-chunk restore.
            return false;
        }
        finally
        {
            _server.Release(id);
        }
    }

    private static FileVersionInfo Describe(Manifest manifest, bool isWinner) => new(
        manifest.Path.Value, manifest.SizeBytes, manifest.ContentId, manifest.Version.ToString(),
        manifest.Origin.Value, manifest.IsTombstone, isWinner, manifest.Chunks.Count)
    {
        Attributes = manifest.Attributes.Count > 0 ? manifest.Attributes : null,
    };

    /// <summary>
    /// Paths under this prefix are the node's own bookkeeping (the S3 API's multipart parts and bucket records):
    /// readable by name, but left out of a listing unless its prefix asks for them.
    /// </summary>
    public const string HiddenPrefix = ".kepler/";

    private static bool IsHidden(string path) => path.StartsWith(HiddenPrefix, StringComparison.Ordinal);

    private static FileVersionInfo Describe(FileRow row) => Describe(FromRow(row), row.IsWinner);

    private static VersionToken TokenOf(FileRow row) =>
        new(row.VersionWallUs, (int)row.VersionLogical, row.VersionNode);

    internal static FileRow ToRow(Manifest manifest, bool isWinner) => new(
        FileRowId(manifest), manifest.Path.Value, manifest.SizeBytes, manifest.Chunks.Select(c => c.Hex).ToList(),
        manifest.ChunkSizeBytes, manifest.ContentId, manifest.Version.WallMicroseconds, manifest.Version.Logical,
        manifest.Version.Node, manifest.Origin, manifest.IsTombstone, isWinner, manifest.Version.WallMicroseconds,
        ManifestCodec.Encode(manifest));

    internal static Manifest FromRow(FileRow row)
    {
        if (row.Manifest is { } encoded)
        {
            return ManifestCodec.Decode(encoded);
        }

        var path = FilePath.Parse(row.Path);
        return row.Tombstone
            ? Manifest.CreateTombstone(path, TokenOf(row), row.OriginNode)
            : Manifest.Create(path, row.SizeBytes, row.ChunkIds.Select(ChunkId.Parse), (int)row.ChunkSizeBytes,
                TokenOf(row), row.OriginNode);
    }

    /// <summary>The row id of a version token as <see cref="VersionToken.ToString"/> prints it, or null.</summary>
    private static string? RowIdOf(string version)
    {
        var at = version.IndexOf('@', StringComparison.Ordinal);
        var dot = at < 0 ? -1 : version.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot > at || version.Any(c => char.IsControl(c) || char.IsSurrogate(c))
            || !long.TryParse(version.AsSpan(0, dot), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var wall)
            || !int.TryParse(version.AsSpan(dot + 1, at - dot - 1), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var logical)
            || string.IsNullOrWhiteSpace(version[(at + 1)..]))
        {
            return null;
        }

        return FileRowId(new VersionToken(wall, logical, new NodeId(version[(at + 1)..])));
    }

    /// <summary>One row per version: the version token is unique (it carries the node id).</summary>
    private static string FileRowId(Manifest manifest) => FileRowId(manifest.Version);

    private static string FileRowId(VersionToken version) => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"{version.WallMicroseconds:D20}.{version.Logical:D10}.{version.Node.Value}");
}
