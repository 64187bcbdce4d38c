using System.Buffers.Binary;
using System.Security.Cryptography;

namespace KeplerSim.Core.Storage;

/// <summary>
/// The on-disk format of a chunk file encrypted at rest: a STREAM construction over AES-256-GCM (Hoang, Reyhanitabar,
/// Rogaway and Vizár, "Online authenticated-encryption and its nonce-reuse misuse-resistance"), so a file is sealed
/// and opened in segments with constant memory, and a truncated, extended or reordered file fails authentication.
/// </summary>
/// <remarks>
/// <para>Layout: a <see cref="HeaderSizeBytes"/>-byte header, then segments. Header: magic <c>KPLRAE01</c> (8),
/// key id (8, <see cref="AtRestKey.Id"/>), nonce prefix (8, fresh random per file), segment size (4, big endian),
/// reserved (4, zero). Each segment is up to <see cref="SegmentSizeBytes"/> bytes of ciphertext followed by a
/// <see cref="TagSizeBytes"/>-byte GCM tag; every segment but the last is full, and a file always has a last
/// segment (an empty chunk is one empty segment).</para>
/// <para>Segment i is sealed with nonce = prefix || i (4 bytes, big endian) and associated data = the whole header
/// || final flag (1 for the last segment, else 0) || the chunk's id (its 32-byte SHA-256): reordering changes a
/// nonce, truncation drops the final flag, appending follows a final segment, any change to the header changes
/// every segment's associated data, and a file moved to another chunk's name no longer opens. So a segment that
/// opens is one this key's holder sealed for this very chunk id, which it does only for bytes that hashed to the id
/// (docs/SECURITY.md: why a read may trust the tag and scrub still hashes).</para>
/// <para>Version 1 (magic <c>KPLRAE01</c>, written before 2026-12-06 evening) bound no chunk id; such files still
/// open, and the store checks their plaintext's SHA-256 on every read.</para>
/// <para>A file without the magic is a plaintext chunk written before the key was turned on (mixed stores).</para>
/// </remarks>
public static class AtRestFormat
{
    /// <summary>Header length.</summary>
    public const int HeaderSizeBytes = 32;

    /// <summary>Plaintext bytes per segment.</summary>
    public const int SegmentSizeBytes = 64 * 1024;

    /// <summary>GCM tag length per segment.</summary>
    public const int TagSizeBytes = 16;

    /// <summary>Random bytes of the nonce chosen per file.</summary>
    public const int NoncePrefixSizeBytes = 8;

    private const int NonceSizeBytes = 12;
    private const int MagicSizeBytes = 8;
    private const int KeyIdOffset = MagicSizeBytes;
    private const int PrefixOffset = KeyIdOffset + AtRestKey.IdSizeBytes;
    private const int SegmentSizeOffset = PrefixOffset + NoncePrefixSizeBytes;
    private const int StoredSegmentSizeBytes = SegmentSizeBytes + TagSizeBytes;
    private const int AssociatedSizeBytesMax = HeaderSizeBytes + 1 + ChunkDigestSizeBytes;

    /// <summary>The digest bound into every segment of a version 2 file (the chunk id's SHA-256 bytes).</summary>
    public const int ChunkDigestSizeBytes = 32;

    /// <summary>The magic that starts every encrypted chunk file written now (version 2: the id is bound).</summary>
    public static ReadOnlySpan<byte> Magic => "KPLRAE02"u8;

    /// <summary>The magic of version 1 files (no chunk id bound), still read.</summary>
    public static ReadOnlySpan<byte> MagicVersion1 => "KPLRAE01"u8;

    /// <summary>Segments of a chunk of <paramref name="plaintextBytes"/> bytes (at least one).</summary>
    public static long SegmentCount(long plaintextBytes) =>
        plaintextBytes == 0 ? 1 : (plaintextBytes + SegmentSizeBytes - 1) / SegmentSizeBytes;

    /// <summary>The file length of an encrypted chunk of <paramref name="plaintextBytes"/> bytes.</summary>
    public static long StoredLength(long plaintextBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(plaintextBytes);
        return HeaderSizeBytes + plaintextBytes + (SegmentCount(plaintextBytes) * TagSizeBytes);
    }

    /// <summary>The plaintext length of an encrypted file of <paramref name="storedBytes"/>; null if none fits.
    /// </summary>
    public static long? PlaintextLength(long storedBytes)
    {
        var body = storedBytes - HeaderSizeBytes;
        if (body < TagSizeBytes)
        {
            return null;
        }

        var full = body / StoredSegmentSizeBytes;
        var rest = body % StoredSegmentSizeBytes;
        var plaintext = (full * SegmentSizeBytes) + (rest == 0 ? 0 : rest - TagSizeBytes);
        return plaintext >= 0 && StoredLength(plaintext) == storedBytes ? plaintext : null;
    }

    /// <summary>Whether <paramref name="file"/> starts like an encrypted chunk file.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> file) =>
        file.Length >= HeaderSizeBytes
        && (file[..MagicSizeBytes].SequenceEqual(Magic) || file[..MagicSizeBytes].SequenceEqual(MagicVersion1));

    /// <summary>
    /// Whether an encrypted file binds its chunk id into every segment (version 2): if it opens under the id it is
    /// stored as, its plaintext is what was sealed for that id.
    /// </summary>
    public static bool BindsChunkId(ReadOnlySpan<byte> file) =>
        file.Length >= HeaderSizeBytes && file[..MagicSizeBytes].SequenceEqual(Magic);

    /// <summary>Writes the header of a file sealed under <paramref name="key"/> with this nonce prefix.</summary>
    public static void WriteHeader(Span<byte> header, AtRestKey key, ReadOnlySpan<byte> noncePrefix)
    {
        ArgumentNullException.ThrowIfNull(key);
        Invariant.That(header.Length == HeaderSizeBytes, "an at-rest header is written whole");
        Invariant.That(noncePrefix.Length == NoncePrefixSizeBytes, "the nonce prefix has its fixed size");
        header.Clear();
        Magic.CopyTo(header);
        key.Id.CopyTo(header[KeyIdOffset..]);
        noncePrefix.CopyTo(header[PrefixOffset..]);
        BinaryPrimitives.WriteInt32BigEndian(header[SegmentSizeOffset..], SegmentSizeBytes);
    }

    /// <summary>
    /// Opens an encrypted chunk file in place: on success the plaintext is <c>file[..plaintextLength]</c>. Fails
    /// (returning a reason) if the header is not this format under <paramref name="key"/> or any segment fails
    /// authentication; the buffer's content is then undefined.
    /// </summary>
    /// <param name="key">The store's key.</param>
    /// <param name="file">The file's bytes, decrypted in place.</param>
    /// <param name="chunkDigest">The SHA-256 bytes of the id the file is stored as (bound into version 2 files).
    /// </param>
    /// <param name="plaintextLength">On success, the plaintext's length.</param>
    /// <param name="reason">On failure, why.</param>
    public static bool TryOpen(AtRestKey key, Span<byte> file, ReadOnlySpan<byte> chunkDigest,
        out int plaintextLength, out string reason)
    {
        if (!TryReadLayout(key, file, out plaintextLength, out reason))
        {
            return false;
        }

        // Decrypting in place moves plaintext over the header: keep a copy for the later segments.
        Span<byte> header = stackalloc byte[HeaderSizeBytes];
        file[..HeaderSizeBytes].CopyTo(header);
        using var cipher = key.CreateCipher();
        var segments = (int)SegmentCount(plaintextLength);
        for (var i = 0; i < segments; i++)
        {
            var offset = HeaderSizeBytes + (i * StoredSegmentSizeBytes);
            var sealedPart = file.Slice(offset, SegmentLength(plaintextLength, i));
            if (!TryOpenSegment(cipher, header, file, plaintextLength, i, sealedPart, chunkDigest, out reason))
            {
                plaintextLength = 0;
                return false;
            }

            sealedPart.CopyTo(file[(i * SegmentSizeBytes)..]);
        }

        return true;
    }

    /// <summary>
    /// Checks that <paramref name="file"/> is this format under <paramref name="key"/> with a valid segment layout,
    /// without decrypting anything: the plaintext length, or false with a reason.
    /// </summary>
    public static bool TryReadLayout(AtRestKey key, ReadOnlySpan<byte> file, out int plaintextLength,
        out string reason)
    {
        ArgumentNullException.ThrowIfNull(key);
        plaintextLength = 0;
        if (!TryReadHeader(key, file, out reason))
        {
            return false;
        }

        if (PlaintextLength(file.Length) is not { } length)
        {
            reason = $"at-rest file of {file.Length} bytes has no valid segment layout (truncated?)";
            return false;
        }

        plaintextLength = (int)length;
        return true;
    }

    /// <summary>
    /// Opens segments <paramref name="first"/> to <paramref name="end"/> (exclusive) of a sealed file whose layout
    /// <see cref="TryReadLayout"/> accepted, writing segment i's plaintext at <c>i * SegmentSizeBytes</c> of
    /// <paramref name="plaintext"/> (a buffer apart from the file, so no bytes are moved twice). False with a
    /// reason when a segment fails authentication; the plaintext is then undefined.
    /// </summary>
    internal static bool TryOpenSegments(AesGcm cipher, ReadOnlySpan<byte> file, int plaintextLength, int first,
        int end, Span<byte> plaintext, ReadOnlySpan<byte> chunkDigest, out string reason)
    {
        reason = "";
        for (var i = first; i < end; i++)
        {
            var target = plaintext.Slice(i * SegmentSizeBytes, SegmentLength(plaintextLength, i));
            var header = file[..HeaderSizeBytes];
            if (!TryOpenSegment(cipher, header, file, plaintextLength, i, target, chunkDigest, out reason))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Plaintext bytes of segment <paramref name="index"/> of a chunk of <paramref name="plaintextLength"/>.
    /// </summary>
    private static int SegmentLength(int plaintextLength, int index) =>
        Math.Min(SegmentSizeBytes, plaintextLength - (index * SegmentSizeBytes));

    /// <summary>Decrypts segment <paramref name="index"/> of <paramref name="file"/> (whose header is
    /// <paramref name="header"/>) into <paramref name="target"/> (its plaintext length; may be the segment's own
    /// ciphertext, in place); false with a reason when it fails authentication.</summary>
    private static bool TryOpenSegment(AesGcm cipher, ReadOnlySpan<byte> header, ReadOnlySpan<byte> file,
        int plaintextLength, int index, Span<byte> target, ReadOnlySpan<byte> chunkDigest, out string reason)
    {
        var segments = SegmentCount(plaintextLength);
        Invariant.That(index < segments, "an at-rest segment index lies in the file");
        Span<byte> buffer = stackalloc byte[AssociatedSizeBytesMax];
        var associated = Associated(buffer, header, index == segments - 1, chunkDigest);
        Span<byte> nonce = stackalloc byte[NonceSizeBytes];
        header.Slice(PrefixOffset, NoncePrefixSizeBytes).CopyTo(nonce);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[NoncePrefixSizeBytes..], (uint)index);
        var offset = HeaderSizeBytes + (index * StoredSegmentSizeBytes);
        try
        {
            cipher.Decrypt(nonce, file.Slice(offset, target.Length), file.Slice(offset + target.Length, TagSizeBytes),
                target, associated);
        }
        catch (AuthenticationTagMismatchException)
        {
            reason = $"at-rest segment {index} of {segments} failed authentication";
            return false;
        }

        reason = "";
        return true;
    }

    /// <summary>Seals one segment (plaintext to ciphertext plus tag) into <paramref name="output"/>.</summary>
    internal static void SealSegment(AesGcm cipher, ReadOnlySpan<byte> header, uint index, bool final,
        ReadOnlySpan<byte> plaintext, Span<byte> output, ReadOnlySpan<byte> chunkDigest)
    {
        Invariant.That(plaintext.Length <= SegmentSizeBytes, "a segment holds at most one segment size");
        Invariant.That(output.Length == plaintext.Length + TagSizeBytes, "a sealed segment is its bytes plus a tag");
        Invariant.That(BindsChunkId(header), "new files are sealed in the current version");
        Span<byte> buffer = stackalloc byte[AssociatedSizeBytesMax];
        var associated = Associated(buffer, header, final, chunkDigest);
        Span<byte> nonce = stackalloc byte[NonceSizeBytes];
        header.Slice(PrefixOffset, NoncePrefixSizeBytes).CopyTo(nonce);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[NoncePrefixSizeBytes..], index);
        cipher.Encrypt(nonce, plaintext, output[..plaintext.Length], output[plaintext.Length..], associated);
    }

    /// <summary>
    /// A segment's associated data: header || final flag, and in version 2 (by the header's magic) the chunk's
    /// digest too.
    /// </summary>
    private static ReadOnlySpan<byte> Associated(Span<byte> buffer, ReadOnlySpan<byte> header, bool final,
        ReadOnlySpan<byte> chunkDigest)
    {
        header.CopyTo(buffer);
        buffer[HeaderSizeBytes] = final ? (byte)1 : (byte)0;
        if (!BindsChunkId(header))
        {
            return buffer[..(HeaderSizeBytes + 1)];
        }

        Invariant.That(chunkDigest.Length == ChunkDigestSizeBytes, "a version 2 segment binds a 32-byte chunk digest");
        chunkDigest.CopyTo(buffer[(HeaderSizeBytes + 1)..]);
        return buffer;
    }

    private static bool TryReadHeader(AtRestKey key, ReadOnlySpan<byte> file, out string reason)
    {
        reason = "";
        if (!HasMagic(file))
        {
            reason = "not an at-rest file (no magic)";
        }
        else if (!file.Slice(KeyIdOffset, AtRestKey.IdSizeBytes).SequenceEqual(key.Id))
        {
            reason = $"at-rest file sealed under key id " +
                $"{Convert.ToHexStringLower(file.Slice(KeyIdOffset, AtRestKey.IdSizeBytes))}, not {key.IdHex}";
        }
        else if (BinaryPrimitives.ReadInt32BigEndian(file[SegmentSizeOffset..]) != SegmentSizeBytes
                 || BinaryPrimitives.ReadInt32BigEndian(file[(SegmentSizeOffset + 4)..]) != 0)
        {
            reason = "at-rest header has an unknown segment size or reserved bits set";
        }

        return reason.Length == 0;
    }
}
