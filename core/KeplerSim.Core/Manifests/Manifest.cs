using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using MessagePack;

namespace KeplerSim.Core.Manifests;

/// <summary>
/// One version of a file: its path, size, ordered chunk ids and version token, or a tombstone recording a delete.
/// Every instance satisfies its invariants (checked on construction, including after decoding from the wire).
/// </summary>
/// <remarks>
/// Equality compares every field, the chunk list by sequence. Properties are get-only, so a <c>with</c> expression
/// cannot build an unchecked copy. On the wire a manifest is encoded by <see cref="ManifestFormatter"/>, so it can be
/// a member of any MessagePack message; use <see cref="ManifestCodec"/> to encode or decode one on its own.
/// </remarks>
[MessagePackFormatter(typeof(ManifestFormatter))]
public sealed record Manifest
{
    /// <summary>The most chunks in a manifest (the same bound the chunker enforces).</summary>
    public const int ChunksMax = Chunker.ChunkCountMax;

    /// <summary>ASCII prefix of the content-id preimage; bump the suffix if the encoding ever changes.</summary>
    public const string ContentIdDomain = "keplersim-content-v1";

    /// <summary>The most versions one manifest may supersede.</summary>
    public const int SupersedesMax = 64;

    private Manifest(
        FilePath path,
        long sizeBytes,
        ImmutableArray<ChunkId> chunks,
        int chunkSizeBytes,
        VersionToken version,
        NodeId origin,
        bool isTombstone,
        ImmutableArray<VersionToken> supersedes = default,
        ImmutableSortedDictionary<string, string>? attributes = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        supersedes = supersedes.IsDefault ? [] : supersedes;
        attributes ??= ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);
        var problem = Problem(sizeBytes, chunks, chunkSizeBytes, version, origin, isTombstone)
            ?? SupersedesProblem(version, supersedes)
            ?? AttributesProblem(attributes, isTombstone);
        if (problem is not null)
        {
            throw new InvalidManifestException($"manifest for '{path}': {problem}");
        }

        Path = path;
        SizeBytes = sizeBytes;
        Chunks = chunks;
        ChunkSizeBytes = chunkSizeBytes;
        Version = version;
        Origin = origin;
        IsTombstone = isTombstone;
        Supersedes = supersedes;
        Attributes = attributes;
        ContentId = ComputeContentId(sizeBytes, chunks, chunkSizeBytes, isTombstone);
    }

    /// <summary>
    /// The versions of this path the writer held as current (winner and conflicts) when it wrote this one: they
    /// are causally older and become history, not conflicts. Every token is lower than <see cref="Version"/>.
    /// </summary>
    public ImmutableArray<VersionToken> Supersedes { get; }

    /// <summary>This manifest with <paramref name="supersedes"/> recorded as the versions it replaces.</summary>
    public Manifest Superseding(IEnumerable<VersionToken> supersedes)
    {
        ArgumentNullException.ThrowIfNull(supersedes);
        return new Manifest(Path, SizeBytes, Chunks.ToImmutableArray(), ChunkSizeBytes, Version, Origin, IsTombstone,
            [.. supersedes.Distinct().Order()], Attributes);
    }

    /// <summary>The most attributes one manifest may carry.</summary>
    public const int AttributesMax = 64;

    /// <summary>The most UTF-16 characters of all attribute names and values together.</summary>
    public const int AttributesCharsMax = 8 * 1024;

    /// <summary>
    /// Optional name/value pairs stored with the version (an S3 object's content type, user metadata and ETag),
    /// ordered by name (ordinal). Empty for most files and always for a tombstone. They are not part of
    /// <see cref="ContentId"/>: equal content keeps one id whatever its attributes.
    /// </summary>
    public ImmutableSortedDictionary<string, string> Attributes { get; }

    /// <summary>This manifest carrying <paramref name="attributes"/> (replacing any it had).</summary>
    public Manifest WithAttributes(IEnumerable<KeyValuePair<string, string>> attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        return new Manifest(Path, SizeBytes, Chunks.ToImmutableArray(), ChunkSizeBytes, Version, Origin, IsTombstone,
            Supersedes, attributes.ToImmutableSortedDictionary(StringComparer.Ordinal));
    }

    private static string? AttributesProblem(ImmutableSortedDictionary<string, string> attributes, bool isTombstone)
    {
        if (attributes.Count == 0)
        {
            return null;
        }

        if (isTombstone)
        {
            return "a tombstone carries no attributes";
        }

        if (attributes.Count > AttributesMax)
        {
            return $"{attributes.Count} attributes exceed the limit of {AttributesMax}";
        }

        var chars = 0L;
        foreach (var (name, value) in attributes)
        {
            if (name.Length == 0 || value is null)
            {
                return "an attribute has an empty name or no value";
            }

            chars += name.Length + value.Length;
        }

        return chars > AttributesCharsMax
            ? $"attributes hold {chars} characters; the limit is {AttributesCharsMax}"
            : null;
    }

    private static string? SupersedesProblem(VersionToken version, ImmutableArray<VersionToken> supersedes)
    {
        if (supersedes.Length > SupersedesMax)
        {
            return $"supersedes {supersedes.Length} versions; the limit is {SupersedesMax}";
        }

        foreach (var token in supersedes)
        {
            if (token.Problem() is { } problem)
            {
                return "superseded version: " + problem;
            }

            if (token >= version)
            {
                return $"supersedes {token}, which is not older than its own version {version}";
            }
        }

        return null;
    }

    /// <summary>The file's path.</summary>
    public FilePath Path { get; }

    /// <summary>The file's length in bytes (0 for a tombstone).</summary>
    public long SizeBytes { get; }

    /// <summary>Chunk ids in file order; an id repeats when the file repeats a chunk. Empty for a tombstone.</summary>
    public IReadOnlyList<ChunkId> Chunks { get; }

    /// <summary>Size of every chunk but the last; 0 for a tombstone, which has no content.</summary>
    public int ChunkSizeBytes { get; }

    /// <summary>
    /// Immutable name of this content: lowercase hex SHA-256 of the encoding described at
    /// <see cref="ComputeContentId"/>. Independent of path, version and origin, so equal content shares an id.
    /// </summary>
    public string ContentId { get; }

    /// <summary>The version token of the write (or delete) that produced this manifest.</summary>
    public VersionToken Version { get; }

    /// <summary>The node that accepted the write (usually, but not necessarily, <c>Version.Node</c>).</summary>
    public NodeId Origin { get; }

    /// <summary>True when this manifest records a delete: no size, no chunks.</summary>
    public bool IsTombstone { get; }

    /// <summary>Builds a manifest for a file's content; throws <see cref="InvalidManifestException"/> if
    /// the chunk count does not match the size and chunk size.</summary>
    public static Manifest Create(
        FilePath path,
        long sizeBytes,
        IEnumerable<ChunkId> chunks,
        int chunkSizeBytes,
        VersionToken version,
        NodeId origin)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        return new Manifest(path, sizeBytes, [.. chunks], chunkSizeBytes, version, origin, isTombstone: false);
    }

    /// <summary>Builds a manifest from what the chunker produced.</summary>
    public static Manifest Create(FilePath path, ChunkList content, VersionToken version, NodeId origin)
    {
        ArgumentNullException.ThrowIfNull(content);
        return new Manifest(
            path, content.SizeBytes, content.Chunks, content.ChunkSizeBytes, version, origin, isTombstone: false);
    }

    /// <summary>Builds a tombstone: the record that <paramref name="path"/> was deleted at
    /// <paramref name="version"/>.</summary>
    public static Manifest CreateTombstone(FilePath path, VersionToken version, NodeId origin) =>
        new(path, 0, [], 0, version, origin, isTombstone: true);

    /// <summary>Rebuilds a decoded manifest and checks that the content id it carried is the one it implies.</summary>
    internal static Manifest FromWire(
        FilePath path,
        long sizeBytes,
        ImmutableArray<ChunkId> chunks,
        int chunkSizeBytes,
        VersionToken version,
        NodeId origin,
        bool isTombstone,
        string contentId,
        ImmutableArray<VersionToken> supersedes = default,
        ImmutableSortedDictionary<string, string>? attributes = null)
    {
        var manifest = new Manifest(
            path, sizeBytes, chunks, chunkSizeBytes, version, origin, isTombstone, supersedes, attributes);
        if (!string.Equals(manifest.ContentId, contentId, StringComparison.Ordinal))
        {
            throw new InvalidManifestException(
                $"manifest for '{path}': content id {contentId} does not match its chunks ({manifest.ContentId})");
        }

        return manifest;
    }

    /// <summary>
    /// Computes a content id: lowercase hex SHA-256 over, in order, the ASCII bytes of <see cref="ContentIdDomain"/>;
    /// one byte kind (0 = file, 1 = tombstone); <paramref name="sizeBytes"/> as 8 bytes big-endian;
    /// <paramref name="chunkSizeBytes"/> as 4 bytes big-endian; the chunk count as 4 bytes big-endian; then each
    /// chunk's 32-byte raw SHA-256 digest in file order.
    /// </summary>
    public static string ComputeContentId(
        long sizeBytes, IReadOnlyList<ChunkId> chunks, int chunkSizeBytes, bool isTombstone)
    {
        ArgumentNullException.ThrowIfNull(chunks);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.ASCII.GetBytes(ContentIdDomain));
        Span<byte> header = stackalloc byte[1 + 8 + 4 + 4];
        header[0] = isTombstone ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt64BigEndian(header[1..], sizeBytes);
        BinaryPrimitives.WriteInt32BigEndian(header[9..], chunkSizeBytes);
        BinaryPrimitives.WriteInt32BigEndian(header[13..], chunks.Count);
        hash.AppendData(header);
        Span<byte> digest = stackalloc byte[ChunkId.DigestBytes];
        for (var i = 0; i < chunks.Count; i++)
        {
            chunks[i].WriteDigest(digest);
            hash.AppendData(digest);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <inheritdoc />
    public bool Equals(Manifest? other) =>
        other is not null
        && Path == other.Path
        && SizeBytes == other.SizeBytes
        && ChunkSizeBytes == other.ChunkSizeBytes
        && IsTombstone == other.IsTombstone
        && Version == other.Version
        && Origin == other.Origin
        && string.Equals(ContentId, other.ContentId, StringComparison.Ordinal)
        && Chunks.SequenceEqual(other.Chunks)
        && Supersedes.SequenceEqual(other.Supersedes)
        && Attributes.SequenceEqual(other.Attributes);

    /// <inheritdoc />
    public override int GetHashCode() =>
        HashCode.Combine(Path, SizeBytes, ChunkSizeBytes, IsTombstone, Version, Origin, ContentId);

    /// <summary>A one-line summary, e.g. <c>a/b.txt 10 B in 1 chunk(s) content 3f2a… @ 17.0@n1</c>.</summary>
    public override string ToString() => IsTombstone
        ? $"{Path} deleted @ {Version} from {Origin}"
        : $"{Path} {SizeBytes} B in {Chunks.Count} chunk(s) content {ContentId[..12]}… @ {Version} from {Origin}";

    private static string? Problem(
        long sizeBytes,
        ImmutableArray<ChunkId> chunks,
        int chunkSizeBytes,
        VersionToken version,
        NodeId origin,
        bool isTombstone)
    {
        var versionProblem = version.Problem();
        if (versionProblem is not null)
        {
            return versionProblem;
        }

        if (string.IsNullOrEmpty(origin.Value))
        {
            return "origin node id is empty";
        }

        if (origin.Value.Length > VersionToken.NodeIdLengthMax)
        {
            return $"origin node id has {origin.Value.Length} characters; the limit is {VersionToken.NodeIdLengthMax}";
        }

        return isTombstone
            ? TombstoneProblem(sizeBytes, chunks, chunkSizeBytes)
            : ContentProblem(sizeBytes, chunks, chunkSizeBytes);
    }

    private static string? TombstoneProblem(long sizeBytes, ImmutableArray<ChunkId> chunks, int chunkSizeBytes)
    {
        if (sizeBytes != 0)
        {
            return $"tombstone has size {sizeBytes}; a tombstone has size 0";
        }

        if (chunks.Length != 0)
        {
            return $"tombstone has {chunks.Length} chunks; a tombstone has none";
        }

        if (chunkSizeBytes != 0)
        {
            return $"tombstone has chunk size {chunkSizeBytes}; a tombstone has chunk size 0";
        }

        return null;
    }

    private static string? ContentProblem(long sizeBytes, ImmutableArray<ChunkId> chunks, int chunkSizeBytes)
    {
        if (chunkSizeBytes is < Chunker.ChunkSizeBytesMin or > Chunker.ChunkSizeBytesMax)
        {
            return $"chunk size {chunkSizeBytes} is outside {Chunker.ChunkSizeBytesMin}..{Chunker.ChunkSizeBytesMax}";
        }

        if (sizeBytes < 0)
        {
            return $"size {sizeBytes} is negative";
        }

        if (chunks.Length > ChunksMax)
        {
            return $"{chunks.Length} chunks exceed the limit of {ChunksMax}";
        }

        var expected = (sizeBytes / chunkSizeBytes) + (sizeBytes % chunkSizeBytes == 0 ? 0 : 1);
        if (chunks.Length != expected)
        {
            return $"{chunks.Length} chunks but size {sizeBytes} in chunks of {chunkSizeBytes} needs {expected}";
        }

        for (var i = 0; i < chunks.Length; i++)
        {
            if (chunks[i].IsDefault)
            {
                return $"chunk {i} has no id";
            }
        }

        return null;
    }
}

/// <summary>A manifest broke its invariants or could not be decoded; the message says what is wrong.</summary>
public sealed class InvalidManifestException : Exception
{
    /// <summary>Creates the exception with a message saying what is wrong.</summary>
    public InvalidManifestException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the decoding error beneath it.</summary>
    public InvalidManifestException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
