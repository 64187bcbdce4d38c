using System.Security.Cryptography;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Storage;

/// <summary>
/// The node's content-addressed chunk store over the disk seam. A chunk's id is the lowercase hex SHA-256 of its
/// bytes; every write is verified before it is stored and every read is verified before bytes are returned.
/// </summary>
/// <remarks>
/// <para>Layout: chunk <c>abcd…</c> lives at <c>chunks/ab/cd/abcd…</c> (two levels of 256 shards keep directories
/// small). Writes in progress live in one directory, <c>chunks/tmp/&lt;id&gt;.&lt;n&gt;.tmp</c> (n counts writes
/// in this incarnation), so recovery finds every leftover by listing a single directory and a listing of a shard
/// never shows a half-written file.</para>
/// <para>Write protocol: hash-check, write tmp, fsync tmp, rename into the shard, fsync the shard directory. The
/// shard directories themselves are made durable (mkdir, then fsync of every ancestor) once per incarnation before
/// the first rename into them, so an acknowledged chunk survives any crash.</para>
/// <para>With an at-rest key (<see cref="NodeRuntime.AtRestKey"/>) chunk files are sealed with AES-256-GCM
/// (<see cref="AtRestFormat"/>) as they are written and opened before they are verified; ids stay the SHA-256 of
/// the plaintext, files without the format's magic are plaintext chunks from before the key (mixed stores), and
/// <see cref="KeyCheckPath"/> records which key the store is sealed with (checked first by recovery).</para>
/// <para>Runs on the node's single logical thread; no locks. Concurrent writes of the same id are safe (each has
/// its own tmp file and the rename is atomic); a delete racing a write of the same id is the caller's to
/// order.</para>
/// </remarks>
public sealed partial class ChunkStore
{
    /// <summary>The default size of a file's chunks.</summary>
    public const int ChunkSizeBytesDefault = 4 << 20;

    /// <summary>The largest chunk the store accepts or will read into memory.</summary>
    public const int ChunkSizeBytesMax = 64 << 20;

    /// <summary>The most streaming writers open at once (each holds an open tmp file).</summary>
    public const int WritersInFlightMax = 256;

    /// <summary>The directory holding the whole store.</summary>
    public const string RootDirectory = "chunks";

    /// <summary>The directory holding writes in progress.</summary>
    public const string TmpDirectory = RootDirectory + "/tmp";

    private const int IdLength = 64;
    private const int ListingsInFlightMax = 256;
    private const string TmpSuffix = ".tmp";

    // At-rest segments decrypted (and then hashed) as one piece of a read's pipeline: 128 KiB.
    private const int SegmentsPerPiece = 2;

    private readonly IDisk _disk;
    private readonly NodeRuntime _runtime;

    // Directories known durable in this incarnation; at most 1 + 1 + 256 + 65,536 entries. Ordinal and only
    // queried for membership, so hashing order never reaches behaviour.
    private readonly SortedSet<string> _durableDirectories = new(StringComparer.Ordinal);
    private long _tmpSequence;
    private int _writersInFlight;

    /// <summary>Creates the store for one node incarnation; call <see cref="RecoverAsync"/> before writing.</summary>
    public ChunkStore(NodeRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _runtime = runtime;
        _disk = runtime.Disk;
    }

    /// <summary>Chunks newly written (or repaired) by this incarnation.</summary>
    public long ChunksWritten { get; private set; }

    /// <summary>Writes that found a verified copy already stored.</summary>
    public long ChunksAlreadyPresent { get; private set; }

    /// <summary>Bytes of chunk data written (tmp files that were committed).</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Reads that returned verified bytes.</summary>
    public long ChunksRead { get; private set; }

    /// <summary>Stored chunks found corrupt (by reads, verifies, writes or recovery).</summary>
    public long CorruptDetected { get; private set; }

    /// <summary>Writes rejected because the bytes did not hash to the id or were too large.</summary>
    public long WritesRejected { get; private set; }

    /// <summary>Chunks deleted.</summary>
    public long ChunksDeleted { get; private set; }

    /// <summary>Whether a chunk file exists, without verifying it (see <see cref="VerifyAsync"/>).</summary>
    public async Task<bool> ExistsAsync(string id)
    {
        RequireId(id);
        return await _disk.GetLengthAsync(PathOf(id)) is not null;
    }

    /// <summary>
    /// Reads a whole chunk and returns it only if it is verified as <paramref name="id"/>: its SHA-256 matches,
    /// or (a file sealed at rest in version 2) every segment authenticates under the store's key with the id bound,
    /// which the store seals only for bytes that hashed to the id (docs/SECURITY.md; scrub and
    /// <see cref="VerifyAsync"/> still hash). A failure is reported as <see cref="ChunkStatus.Corrupt"/> (and
    /// published as <see cref="ChunkCorruptEvent"/>), never returned. A disk I/O error propagates as
    /// <see cref="DiskIOException"/>: it says nothing about the chunk's bytes.
    /// </summary>
    public async Task<ChunkReadResult> ReadAsync(string id)
    {
        RequireId(id);
        var (status, buffer) = await LoadAsync(id, trustTag: true);
        if (status != ChunkStatus.Ok)
        {
            return status == ChunkStatus.Missing ? ChunkReadResult.Missing : ChunkReadResult.Corrupt;
        }

        Vouched(id);
        ChunksRead++;
        return ChunkReadResult.Ok(buffer!);
    }

    /// <summary>
    /// Reads <paramref name="length"/> bytes at <paramref name="offset"/> of a chunk. Verification needs the whole
    /// chunk, so this costs a full read and hash of the chunk (up to <see cref="ChunkSizeBytesMax"/>) however small
    /// the range: callers reading many ranges of one chunk should read it once. The range must lie in the chunk.
    /// </summary>
    public async Task<ChunkReadResult> ReadRangeAsync(string id, long offset, int length)
    {
        RequireId(id);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        using var whole = await ReadAsync(id);
        if (!whole.IsOk)
        {
            return whole.Status == ChunkStatus.Missing ? ChunkReadResult.Missing : ChunkReadResult.Corrupt;
        }

        if (offset + length > whole.Data.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length),
                $"range [{offset}, {offset + length}) is outside chunk {id} of {whole.Data.Length} bytes");
        }

        // A copy: the whole chunk's pooled buffer goes back when this returns.
        return ChunkReadResult.Ok(whole.Data.Slice((int)offset, length).ToArray());
    }

    /// <summary>Reads and hashes a chunk (for scrub): Ok, Missing or Corrupt. Corruption is published.</summary>
    public async Task<ChunkStatus> VerifyAsync(string id)
    {
        RequireId(id);
        var (status, buffer) = await LoadAsync(id);
        buffer?.Dispose();
        if (status == ChunkStatus.Ok)
        {
            Vouched(id);
        }

        return status;
    }

    /// <summary>Deletes a chunk durably (delete, then fsync its shard); false if it was not stored.</summary>
    public async Task<bool> DeleteAsync(string id)
    {
        RequireId(id);
        var path = PathOf(id);
        if (await _disk.GetLengthAsync(path) is null)
        {
            return false;
        }

        await _disk.DeleteAsync(path);
        Vouched(id);
        await _disk.FsyncDirectoryAsync(ShardOf(id));
        ChunksDeleted++;
        return true;
    }

    /// <summary>
    /// The ids of every chunk file in its right shard, sorted ordinally; files are not verified. Walks all shard
    /// directories, so it costs one listing per shard.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListAsync()
    {
        var (ids, _, _) = await WalkAsync();
        return ids;
    }

    /// <summary>Whether <paramref name="id"/> is a chunk id: 64 lowercase hex characters.</summary>
    public static bool IsValidId(string? id)
    {
        if (id is null || id.Length != IdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!IsLowerHex(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The lowercase hex SHA-256 of <paramref name="data"/>: the id of a chunk with these bytes.</summary>
    public static string IdOf(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>
    /// The id of the chunk a chunk file's bytes hold (decrypting in place, so pass a copy, when
    /// <paramref name="key"/> is set and the file is sealed), or null if a sealed file does not open: what scrub
    /// would verify, for checkers that read disks from outside. A sealed file binds the id it is stored as
    /// (<paramref name="storedAs"/>): without it, or under another, it does not open.
    /// </summary>
    public static string? IdOfFile(Span<byte> file, AtRestKey? key, string? storedAs = null)
    {
        Span<byte> digest = stackalloc byte[ChunkId.DigestBytes];
        if (storedAs is not null && ChunkId.TryParse(storedAs, out var id))
        {
            id.WriteDigest(digest);
        }

        return Open(key, file, digest).Id;
    }

    /// <summary>Where chunk <paramref name="id"/> is stored: <c>chunks/ab/cd/&lt;id&gt;</c>.</summary>
    public static string PathOf(string id)
    {
        RequireId(id);
        return ShardOf(id) + "/" + id;
    }

    private static string ShardOf(string id) => $"{RootDirectory}/{id[..2]}/{id[2..4]}";

    private static bool IsLowerHex(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f');

    private static bool IsShardName(string name) => name.Length == 2 && IsLowerHex(name[0]) && IsLowerHex(name[1]);

    private static void RequireId(string id)
    {
        if (!IsValidId(id))
        {
            throw new ArgumentException($"'{id}' is not a chunk id: expected 64 lowercase hex characters", nameof(id));
        }
    }

    /// <summary>
    /// Reads a chunk file whole into a pooled buffer, decrypts it (into a second one) if it is sealed at rest, and
    /// checks the plaintext against its id; publishes corruption. The plaintext is returned (to the caller, who
    /// disposes it) only when the status is Ok. <paramref name="asPlaintext"/> skips decryption: the second look at
    /// a file that starts with the at-rest magic but does not open, which may be a plaintext chunk that happens to.
    /// <paramref name="trustTag"/> (reads, not scrub or recovery) lets a version 2 sealed file that authenticates
    /// under its id skip the SHA-256 pass.
    /// </summary>
    private async Task<(ChunkStatus Status, ChunkBuffer? Buffer)> LoadAsync(string id, bool asPlaintext = false,
        bool trustTag = false)
    {
        var path = PathOf(id);
        var length = await _disk.GetLengthAsync(path);
        if (length is null)
        {
            return (ChunkStatus.Missing, null);
        }

        if (length.Value > StoredSizeMax)
        {
            // Larger than any chunk we accept: corrupt by definition, and not worth reading into memory.
            return Corrupt(id, path, $"oversized file of {length.Value} bytes", report: !asPlaintext);
        }

        var buffer = ChunkBuffer.Rent((int)length.Value);
        ChunkBuffer? plaintext = null;
        ChunkBuffer? verified = null;
        try
        {
            var (complete, filled) = await FillAsync(path, buffer.Writable);
            if (!complete)
            {
                return filled < 0
                    ? (ChunkStatus.Missing, null) // Deleted between the stat and the read.
                    : Corrupt(id, path, $"short read of {filled} of {buffer.Length} bytes", report: !asPlaintext);
            }

            var key = asPlaintext ? null : _runtime.AtRestKey;
            var file = buffer.Data;
            string? actual, failure = null;
            if (key is not null && AtRestFormat.HasMagic(file.Span))
            {
                var hash = !trustTag || !AtRestFormat.BindsChunkId(file.Span);
                (actual, plaintext, failure) = await OpenSealedAsync(key, file, id, hash);
            }
            else
            {
                actual = await _runtime.PureWork.RunAsync(() => IdOf(file.Span));
            }

            if (failure is not null)
            {
                // Sealed under our key but it does not open: corrupt, unless it is a plaintext chunk (from before
                // the key was turned on) whose bytes merely start with the magic.
                buffer.Dispose();
                var plain = await LoadAsync(id, asPlaintext: true);
                return plain.Status != ChunkStatus.Corrupt ? plain : Corrupt(id, path, failure, report: true);
            }

            if (!string.Equals(actual, id, StringComparison.Ordinal))
            {
                var what = plaintext is null ? "bytes" : "decrypted bytes";
                return Corrupt(id, path, $"hash mismatch: {what} hash to {actual}", report: !asPlaintext);
            }

            verified = plaintext ?? buffer;
            return (ChunkStatus.Ok, verified);
        }
        finally
        {
            // Only the verified plaintext goes to the caller; the sealed file's buffer is done with either way.
            if (buffer != verified)
            {
                buffer.Dispose();
            }

            if (plaintext is not null && plaintext != verified)
            {
                plaintext.Dispose();
            }
        }
    }

    /// <summary>The largest chunk file the store reads: a largest chunk, sealed if a key is set.</summary>
    private long StoredSizeMax =>
        _runtime.AtRestKey is null ? ChunkSizeBytesMax : AtRestFormat.StoredLength(ChunkSizeBytesMax);

    /// <summary>Reads the file into <paramref name="memory"/>: whether it filled it, and how much (-1: gone).</summary>
    private async Task<(bool Complete, int Filled)> FillAsync(string path, Memory<byte> memory)
    {
        var filled = 0;
        try
        {
            while (filled < memory.Length)
            {
                var count = await _disk.ReadAsync(path, filled, memory[filled..]);
                if (count == 0)
                {
                    break;
                }

                Invariant.That(count > 0, "disk read returned a negative count");
                filled += count;
            }
        }
        catch (FileNotFoundException)
        {
            return (false, -1);
        }

        return (filled == memory.Length, filled);
    }

    /// <summary>
    /// Opens a chunk file in place (decrypting it when <paramref name="key"/> is set and the file is sealed) and
    /// hashes the plaintext: its id and length, or why it did not open. For checkers; the store reads through
    /// <see cref="OpenSealedAsync"/>.
    /// </summary>
    private static (string? Id, int PlaintextBytes, string? Failure) Open(AtRestKey? key, Span<byte> file,
        ReadOnlySpan<byte> chunkDigest)
    {
        if (key is null || !AtRestFormat.HasMagic(file))
        {
            return (IdOf(file), file.Length, null);
        }

        return AtRestFormat.TryOpen(key, file, chunkDigest, out var plaintextBytes, out var reason)
            ? (IdOf(file[..plaintextBytes]), plaintextBytes, null)
            : (null, 0, reason);
    }

    /// <summary>
    /// Decrypts a sealed chunk file into a fresh pooled buffer and hashes the plaintext, as a two-stage pipeline of
    /// pure work (<see cref="IPureWork.RunPipelineAsync"/>): every segment is authenticated by AES-GCM and then
    /// every plaintext byte goes through SHA-256, as before, but the real node hashes segment k while it decrypts
    /// segment k + 1 on another core, so a read takes about as long as the hash alone. Without
    /// <paramref name="hashPlaintext"/> (a version 2 file read under the id it binds) only the tags are checked and
    /// the id is <paramref name="id"/>. Returns the plaintext's id and its buffer (the caller disposes it), or why
    /// the file did not open (no buffer).
    /// </summary>
    private async Task<(string? Id, ChunkBuffer? Plaintext, string? Failure)> OpenSealedAsync(AtRestKey key,
        ReadOnlyMemory<byte> file, string id, bool hashPlaintext)
    {
        if (!AtRestFormat.TryReadLayout(key, file.Span, out var length, out var failure))
        {
            return (null, null, failure);
        }

        var digest = new byte[ChunkId.DigestBytes];
        ChunkId.Parse(id).WriteDigest(digest);
        var plaintext = ChunkBuffer.Rent(length);
        var target = plaintext.Writable;
        var segments = (int)AtRestFormat.SegmentCount(length);
        var pieces = (segments + SegmentsPerPiece - 1) / SegmentsPerPiece;
        using var cipher = key.CreateCipher();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var opened = hashPlaintext
            ? await _runtime.PureWork.RunPipelineAsync(pieces,
                piece => AtRestFormat.TryOpenSegments(cipher, file.Span, length, piece * SegmentsPerPiece,
                    Math.Min(segments, (piece + 1) * SegmentsPerPiece), target.Span, digest, out failure),
                piece => hash.AppendData(target.Span[PieceRange(piece, length)]))
            : await _runtime.PureWork.RunAsync(() => AtRestFormat.TryOpenSegments(cipher, file.Span, length, 0,
                segments, target.Span, digest, out failure));
        if (!opened)
        {
            plaintext.Dispose();
            return (null, null, failure);
        }

        // Unhashed, the tags vouch for the id: each segment opened under the id it is stored as (AtRestFormat).
        return (hashPlaintext ? Convert.ToHexStringLower(hash.GetHashAndReset()) : id, plaintext, null);
    }

    private static Range PieceRange(int piece, int length)
    {
        const int pieceBytes = SegmentsPerPiece * AtRestFormat.SegmentSizeBytes;
        var start = (int)Math.Min(length, (long)piece * pieceBytes);
        return start..(int)Math.Min(length, (long)start + pieceBytes);
    }

    /// <summary>A corrupt result, published unless <paramref name="report"/> is false (a second look).</summary>
    private (ChunkStatus Status, ChunkBuffer? Buffer) Corrupt(string id, string path, string reason, bool report)
    {
        if (report)
        {
            ReportCorrupt(id, path, reason);
        }

        return (ChunkStatus.Corrupt, null);
    }

    private void ReportCorrupt(string id, string path, string reason)
    {
        CorruptDetected++;
        _runtime.Events.Publish(new ChunkCorruptEvent(id, path, reason));
    }

    /// <summary>
    /// Creates <paramref name="directory"/> (mkdir -p) and fsyncs every ancestor so that its entry, and each of
    /// its parents' entries, survives a crash. Done once per directory per incarnation: after a process crash a
    /// directory that exists may still be only in the page cache, so existence alone proves nothing. A directory
    /// counts as durable only once its whole chain is: marked as soon as its own entry was fsync'd, a second write
    /// into the same new shard skipped the fsyncs still running for the shard's parent and was acknowledged while
    /// that entry was only in the page cache (`kepler-sim swarm scenarios/slow/join-rebalance.yaml --first-seed 7003
    /// -n 1`; DurableWritePathTests). Two writes racing to create one directory both fsync its chain.
    /// </summary>
    private async Task EnsureDirectoryDurableAsync(string directory)
    {
        if (_durableDirectories.Contains(directory))
        {
            return;
        }

        await _disk.CreateDirectoryAsync(directory);
        var chain = new List<string>();
        for (var path = directory; path.Length > 0 && !_durableDirectories.Contains(path);)
        {
            var slash = path.LastIndexOf('/');
            var parent = slash < 0 ? "" : path[..slash];
            await _disk.FsyncDirectoryAsync(parent);
            chain.Add(path);
            path = parent;
        }

        _durableDirectories.UnionWith(chain);
    }

    /// <summary>
    /// Walks the shards: the chunk ids (sorted), the stray files (sorted) found there, and whether the root holds
    /// the at-rest key check (<see cref="KeyCheckPath"/>).
    /// </summary>
    private async Task<(IReadOnlyList<string> Ids, IReadOnlyList<string> Strays, bool RecordsKey)> WalkAsync()
    {
        var ids = new List<string>();
        var strays = new List<string>();
        var root = await _disk.ListAsync(RootDirectory);
        var recordsKey = root.Any(top => !top.IsDirectory && RootDirectory + "/" + top.Name == KeyCheckPath);
        // The tmp directory, the key check, or something that is not ours, is skipped. The listings run many at a
        // time: one after another, the 65,792 of a full store took 13 s on a loaded machine before /ready.
        var tops = root.Where(top => top.IsDirectory && IsShardName(top.Name))
            .Select(top => RootDirectory + "/" + top.Name).ToList();
        var shards = new List<string>();
        foreach (var (topPath, inner) in await ListManyAsync(tops))
        {
            shards.AddRange(inner.Where(e => e.IsDirectory && IsShardName(e.Name)).Select(e => topPath + "/" + e.Name));
        }

        foreach (var (shard, entries) in await ListManyAsync(shards))
        {
            foreach (var entry in entries)
            {
                var isChunk = !entry.IsDirectory && IsValidId(entry.Name)
                    && string.Equals(ShardOf(entry.Name), shard, StringComparison.Ordinal);
                (isChunk ? ids : strays).Add(isChunk ? entry.Name : shard + "/" + entry.Name);
            }
        }

        ids.Sort(StringComparer.Ordinal);
        strays.Sort(StringComparer.Ordinal);
        return (ids, strays, recordsKey);
    }

    /// <summary>Lists <paramref name="paths"/>, up to <see cref="ListingsInFlightMax"/> at once, in their order.
    /// </summary>
    private async Task<List<(string Path, IReadOnlyList<DiskEntry> Entries)>> ListManyAsync(List<string> paths)
    {
        var listed = new List<(string, IReadOnlyList<DiskEntry>)>(paths.Count);
        foreach (var batch in paths.Chunk(ListingsInFlightMax))
        {
            var entries = await Task.WhenAll(batch.Select(_disk.ListAsync));
            listed.AddRange(batch.Zip(entries));
        }

        return listed;
    }
}
