using System.Buffers;
using System.Collections.Immutable;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using MessagePack;
using MessagePack.Formatters;

namespace KeplerSim.Core.Manifests;

/// <summary>
/// The MessagePack form of <see cref="Manifest"/>: an array of fields by position (the same contract as integer
/// <c>[Key(n)]</c>): 0 format version (1), 1 path, 2 size, 3 chunk size, 4 chunk digests (array of bin 32),
/// 5 content id (bin 32), 6 version wall µs, 7 version logical, 8 version node, 9 origin node, 10 tombstone flag,
/// 11 superseded version tokens (optional), 12 attributes (optional map of string to string).
/// Positions are never reused; a later version may append fields, which this version skips.
/// </summary>
/// <remarks>
/// Decoding validates everything and rebuilds the manifest through its checked constructor, so hostile bytes end in
/// an exception (wrapped by MessagePack in <see cref="MessagePackSerializationException"/>), never in a bad object.
/// </remarks>
public sealed class ManifestFormatter : IMessagePackFormatter<Manifest?>
{
    /// <summary>The format version this code writes and reads.</summary>
    public const int FormatVersion = 1;

    private const int FieldCount = 11;

    // Field 12 (optional, newer writers): the version tokens this version supersedes.
    private const int FieldCountWithSupersedes = 12;

    // Field 13 (optional, written only when there are any): the attributes, a map of string to string. A manifest
    // without attributes keeps its 12-field encoding byte for byte.
    private const int FieldCountWithAttributes = 13;

    /// <inheritdoc />
    public void Serialize(ref MessagePackWriter writer, Manifest? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        writer.WriteArrayHeader(value.Attributes.Count > 0 ? FieldCountWithAttributes : FieldCountWithSupersedes);
        writer.Write(FormatVersion);
        writer.Write(value.Path.Value);
        writer.Write(value.SizeBytes);
        writer.Write(value.ChunkSizeBytes);
        writer.WriteArrayHeader(value.Chunks.Count);
        var digest = new byte[ChunkId.DigestBytes];
        foreach (var chunk in value.Chunks)
        {
            chunk.WriteDigest(digest);
            writer.Write(digest);
        }

        writer.Write(Convert.FromHexString(value.ContentId));
        writer.Write(value.Version.WallMicroseconds);
        writer.Write(value.Version.Logical);
        writer.Write(value.Version.Node.Value);
        writer.Write(value.Origin.Value);
        writer.Write(value.IsTombstone);
        writer.WriteArrayHeader(value.Supersedes.Length);
        foreach (var token in value.Supersedes)
        {
            writer.WriteArrayHeader(3);
            writer.Write(token.WallMicroseconds);
            writer.Write(token.Logical);
            writer.Write(token.Node.Value);
        }

        if (value.Attributes.Count > 0)
        {
            writer.WriteMapHeader(value.Attributes.Count);
            foreach (var (name, text) in value.Attributes)
            {
                writer.Write(name);
                writer.Write(text);
            }
        }
    }

    /// <inheritdoc />
    public Manifest? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }

        options.Security.DepthStep(ref reader);
        var fields = reader.ReadArrayHeader();
        if (fields < FieldCount)
        {
            throw Invalid($"manifest has {fields} fields; expected at least {FieldCount}");
        }

        var formatVersion = reader.ReadInt32();
        if (formatVersion != FormatVersion)
        {
            throw Invalid($"manifest format version {formatVersion} is not supported (expected {FormatVersion})");
        }

        var pathText = reader.ReadString();
        if (!FilePath.TryParse(pathText, out var path, out var pathError))
        {
            throw Invalid($"manifest has a bad path: {pathError}");
        }

        var sizeBytes = reader.ReadInt64();
        var chunkSizeBytes = reader.ReadInt32();
        var chunks = ReadChunks(ref reader);
        var contentId = Convert.ToHexStringLower(ReadDigest(ref reader, "content id"));
        var wall = reader.ReadInt64();
        var logical = reader.ReadInt32();
        var versionNode = new NodeId(ReadNodeId(ref reader, "version node"));
        var origin = new NodeId(ReadNodeId(ref reader, "origin"));
        var isTombstone = reader.ReadBoolean();
        var supersedes = fields >= FieldCountWithSupersedes ? ReadSupersedes(ref reader) : [];
        var attributes = fields >= FieldCountWithAttributes ? ReadAttributes(ref reader) : null;
        SkipValues(ref reader, fields - Math.Min(fields, FieldCountWithAttributes));
        reader.Depth--;
        return Manifest.FromWire(
            path, sizeBytes, chunks, chunkSizeBytes, new VersionToken(wall, logical, versionNode), origin,
            isTombstone, contentId, supersedes, attributes);
    }

    private static ImmutableSortedDictionary<string, string> ReadAttributes(ref MessagePackReader reader)
    {
        var count = reader.ReadMapHeader();
        if (count > Manifest.AttributesMax)
        {
            throw Invalid($"manifest has {count} attributes; the limit is {Manifest.AttributesMax}");
        }

        var attributes = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var name = reader.ReadString();
            var text = reader.ReadString();
            if (name is null || text is null || !attributes.TryAdd(name, text))
            {
                throw Invalid($"manifest attribute {i} is nil or repeats a name");
            }
        }

        return attributes.ToImmutable();
    }

    private static ImmutableArray<VersionToken> ReadSupersedes(ref MessagePackReader reader)
    {
        var count = reader.ReadArrayHeader();
        if (count > Manifest.SupersedesMax)
        {
            throw Invalid($"manifest supersedes {count} versions; the limit is {Manifest.SupersedesMax}");
        }

        var tokens = ImmutableArray.CreateBuilder<VersionToken>(count);
        for (var i = 0; i < count; i++)
        {
            if (reader.ReadArrayHeader() != 3)
            {
                throw Invalid($"manifest supersedes entry {i} is not [wall, logical, node]");
            }

            tokens.Add(new VersionToken(reader.ReadInt64(), reader.ReadInt32(),
                new NodeId(ReadNodeId(ref reader, "superseded version"))));
        }

        return tokens.MoveToImmutable();
    }

    private static ImmutableArray<ChunkId> ReadChunks(ref MessagePackReader reader)
    {
        var count = reader.ReadArrayHeader();
        if (count > Manifest.ChunksMax)
        {
            throw Invalid($"manifest has {count} chunks; the limit is {Manifest.ChunksMax}");
        }

        var chunks = ImmutableArray.CreateBuilder<ChunkId>(count);
        for (var i = 0; i < count; i++)
        {
            chunks.Add(ChunkId.FromDigest(ReadDigest(ref reader, $"chunk {i}")));
        }

        return chunks.MoveToImmutable();
    }

    private static byte[] ReadDigest(ref MessagePackReader reader, string what)
    {
        var bytes = reader.ReadBytes();
        if (bytes is not { Length: ChunkId.DigestBytes } digest)
        {
            throw Invalid($"manifest {what} is not a {ChunkId.DigestBytes}-byte digest");
        }

        return digest.ToArray();
    }

    private static string ReadNodeId(ref MessagePackReader reader, string what)
    {
        var text = reader.ReadString();
        if (string.IsNullOrEmpty(text))
        {
            throw Invalid($"manifest {what} node id is missing");
        }

        if (text.Length > VersionToken.NodeIdLengthMax)
        {
            throw Invalid($"manifest {what} node id is longer than {VersionToken.NodeIdLengthMax} characters");
        }

        return text;
    }

    // Skips fields added by later versions without recursion: a counter of values still to skip replaces the call
    // stack, so hostile deep nesting costs loop iterations (bounded by the input length), never stack depth.
    private static void SkipValues(ref MessagePackReader reader, long count)
    {
        var remaining = count;
        while (remaining > 0)
        {
            remaining--;
            switch (reader.NextMessagePackType)
            {
                case MessagePackType.Array:
                    remaining += reader.ReadArrayHeader();
                    break;
                case MessagePackType.Map:
                    remaining += 2L * reader.ReadMapHeader();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    private static InvalidManifestException Invalid(string message) => new(message);
}
