using System.Buffers;
using MessagePack;

namespace KeplerSim.Core.Manifests;

/// <summary>
/// Encodes and decodes a manifest on its own. Decoding hostile bytes either returns a valid manifest or throws
/// <see cref="InvalidManifestException"/>; nothing else.
/// </summary>
public static class ManifestCodec
{
    /// <summary>
    /// The largest encoded manifest accepted: a full chunk list (34 bytes per chunk) plus 64 KiB for the other
    /// fields and for fields a later version may add.
    /// </summary>
    public const int EncodedBytesMax = (Manifest.ChunksMax * 34) + (64 * 1024);

    /// <summary>Options for untrusted input (hash-DoS safe, depth-limited), built once.</summary>
    public static MessagePackSerializerOptions Options { get; } =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>Encodes <paramref name="manifest"/> to a new array.</summary>
    public static byte[] Encode(Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return MessagePackSerializer.Serialize(manifest, Options);
    }

    /// <summary>Appends the encoding of <paramref name="manifest"/> to <paramref name="writer"/>.</summary>
    public static void Encode(IBufferWriter<byte> writer, Manifest manifest)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(manifest);
        MessagePackSerializer.Serialize(writer, manifest, Options);
    }

    /// <summary>Decodes exactly one manifest that fills <paramref name="bytes"/>.</summary>
    /// <exception cref="InvalidManifestException">The bytes are not a valid manifest.</exception>
    public static Manifest Decode(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.Length > EncodedBytesMax)
        {
            throw new InvalidManifestException(
                $"encoded manifest is {bytes.Length} bytes; the limit is {EncodedBytesMax}");
        }

        Manifest? manifest;
        int consumed;
        try
        {
            manifest = MessagePackSerializer.Deserialize<Manifest?>(bytes, Options, out consumed);
        }
        catch (MessagePackSerializationException error)
        {
            var cause = error.GetBaseException();
            if (cause is InvalidManifestException invalid)
            {
                throw new InvalidManifestException(invalid.Message, error);
            }

            throw new InvalidManifestException($"manifest bytes are malformed: {cause.Message}", error);
        }

        if (manifest is null)
        {
            throw new InvalidManifestException("manifest bytes hold nil, not a manifest");
        }

        if (consumed != bytes.Length)
        {
            throw new InvalidManifestException(
                $"manifest bytes have {bytes.Length - consumed} trailing bytes after the manifest");
        }

        return manifest;
    }
}
