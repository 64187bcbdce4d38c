using System.Buffers.Binary;
using KeplerSim.Core;
using KeplerSim.Core.Storage;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// The at-rest file format's own checks, called directly: which lengths a sealed file can have, which headers are
/// refused and with what reason (the reason reaches the operator in the chunk's corrupt event), and the invariants
/// that keep a header or segment from being written partly or in the old version. For the AtRestFormat.cs survivors
/// of the eighth session's Stryker run (docs/mutation/storage-survivors-2026-12-07.tsv): through the store, most of
/// them were hidden by GCM (a bad header fails authentication anyway, with another reason) or by the store's fallback
/// to reading a file as plaintext.
/// </summary>
[Trait("Category", "Fast")]
public sealed class AtRestFormatTests
{
    private const int Header = AtRestFormat.HeaderSizeBytes;
    private const int Segment = AtRestFormat.SegmentSizeBytes;
    private const int Tag = AtRestFormat.TagSizeBytes;
    private const int StoredSegment = Segment + Tag;
    private const int SegmentSizeOffset = 24;

    private static readonly AtRestKey KeyA = KeyOf(1);
    private static readonly AtRestKey KeyB = KeyOf(2);
    private static readonly byte[] Prefix = [1, 2, 3, 4, 5, 6, 7, 8];

    private static AtRestKey KeyOf(byte fill) => new(Enumerable.Repeat(fill, AtRestKey.KeySizeBytes).ToArray());

    private static byte[] DigestOf(byte fill) => Enumerable.Repeat(fill, AtRestFormat.ChunkDigestSizeBytes).ToArray();

    /// <summary>Seals <paramref name="plaintext"/> as the store does: one header, then its segments.</summary>
    private static byte[] Seal(AtRestKey key, byte[] plaintext, byte[] digest)
    {
        var file = new byte[AtRestFormat.StoredLength(plaintext.Length)];
        AtRestFormat.WriteHeader(file.AsSpan(0, Header), key, Prefix);
        var segments = (int)AtRestFormat.SegmentCount(plaintext.Length);
        using var cipher = key.CreateCipher();
        for (var i = 0; i < segments; i++)
        {
            var length = Math.Min(Segment, plaintext.Length - (i * Segment));
            AtRestFormat.SealSegment(cipher, file.AsSpan(0, Header), (uint)i, i == segments - 1,
                plaintext.AsSpan(i * Segment, length), file.AsSpan(Header + (i * StoredSegment), length + Tag), digest);
        }

        return file;
    }

    private static (bool Ok, int Length, string Reason) Layout(AtRestKey key, byte[] file)
    {
        var ok = AtRestFormat.TryReadLayout(key, file, out var length, out var reason);
        return (ok, length, reason);
    }

    [Fact]
    public void Only_lengths_a_sealed_file_can_have_map_to_a_plaintext_length()
    {
        // Kills AtRestFormat.cs:65 (a negative length gave a stored length of 31) and :82 ×2 (the round trip check
        // dropped: a file one full segment plus 5 bytes long was taken for 65 525 bytes of plaintext).
        Assert.Throws<ArgumentOutOfRangeException>(() => AtRestFormat.StoredLength(-1));
        for (var stored = 0; stored < Header + Tag; stored++)
        {
            Assert.Null(AtRestFormat.PlaintextLength(stored));
        }

        Assert.Equal(0, AtRestFormat.PlaintextLength(Header + Tag));
        Assert.Equal(Segment, AtRestFormat.PlaintextLength(Header + StoredSegment));
        Assert.Equal(Segment + 1, AtRestFormat.PlaintextLength(Header + StoredSegment + 1 + Tag));
        // A partial tag after a full segment, and an empty segment after a full one (only an empty chunk has one).
        Assert.Null(AtRestFormat.PlaintextLength(Header + StoredSegment + 5));
        Assert.Null(AtRestFormat.PlaintextLength(Header + StoredSegment + Tag));
    }

    [Fact]
    public void A_file_not_in_this_format_under_this_key_is_refused_with_why()
    {
        // Kills :87 ×2 (a plaintext file taken to start like a sealed one; a sealed file truncated to its header
        // reported as "no magic"), :157, :161 (a refused header read as a valid 0-byte layout), :166-167 (the
        // truncated layout accepted or unexplained), :270 (no magic accepted: an empty reason means success),
        // :274-275 (the key id message), :277 (`&&`: an unknown segment size accepted) and :280.
        var sealedFile = Seal(KeyA, [.. Enumerable.Range(0, 100).Select(i => (byte)i)], DigestOf(7));
        Assert.Equal((true, 100, ""), Layout(KeyA, sealedFile));
        Assert.Throws<ArgumentNullException>(() => AtRestFormat.TryReadLayout(null!, sealedFile, out _, out _));

        var plaintext = Enumerable.Repeat((byte)'x', 100).ToArray();
        Assert.False(AtRestFormat.HasMagic(plaintext));
        Assert.Equal((false, 0, "not an at-rest file (no magic)"), Layout(KeyA, plaintext));

        Assert.Equal((false, 0, $"at-rest file sealed under key id {KeyA.IdHex}, not {KeyB.IdHex}"),
            Layout(KeyB, sealedFile));

        var headerOnly = sealedFile[..Header];
        Assert.True(AtRestFormat.HasMagic(headerOnly));
        Assert.False(AtRestFormat.HasMagic(sealedFile[..(Header - 1)]));
        Assert.Equal((false, 0, "at-rest file of 32 bytes has no valid segment layout (truncated?)"),
            Layout(KeyA, headerOnly));
        // Cut inside the last segment's tag (a cut inside its ciphertext is a valid shorter layout: GCM refuses it).
        Assert.Equal((false, 0, "at-rest file of 37 bytes has no valid segment layout (truncated?)"),
            Layout(KeyA, sealedFile[..(Header + 5)]));

        var otherSegmentSize = sealedFile.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(otherSegmentSize.AsSpan(SegmentSizeOffset), Segment / 2);
        var reservedSet = sealedFile.ToArray();
        reservedSet[Header - 1] = 1;
        foreach (var file in new[] { otherSegmentSize, reservedSet })
        {
            Assert.Equal((false, 0, "at-rest header has an unknown segment size or reserved bits set"),
                Layout(KeyA, file));
        }
    }

    [Fact]
    public void A_segment_that_fails_authentication_is_named_in_the_reason()
    {
        // Kills :223 (the reason, which the chunk's corrupt event carries to the operator, emptied).
        var sealedFile = Seal(KeyA, new byte[(2 * Segment) + 10], DigestOf(7));
        var flipped = sealedFile.ToArray();
        flipped[Header + StoredSegment + 3] ^= 1;
        Assert.False(AtRestFormat.TryOpen(KeyA, flipped, DigestOf(7), out var length, out var reason));
        Assert.Equal((0, "at-rest segment 1 of 3 failed authentication"), (length, reason));
        Assert.False(AtRestFormat.TryOpen(KeyA, sealedFile.ToArray(), DigestOf(8), out _, out reason));
        Assert.Equal("at-rest segment 0 of 3 failed authentication", reason);
        Assert.True(AtRestFormat.TryOpen(KeyA, sealedFile, DigestOf(7), out length, out _));
        Assert.Equal((2 * Segment) + 10, length);
    }

    [Fact]
    public void A_header_is_written_whole_over_any_old_bytes()
    {
        // Kills :100 (a null key a NullReferenceException), :101-102 ×2 each (a 31-byte header buffer or a 7-byte
        // nonce prefix written without complaint, or the invariant's message emptied) and :103 (without the clear, a
        // reused header buffer's old bytes stayed in the reserved field and every file sealed into it was refused).
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(
            () => AtRestFormat.WriteHeader(new byte[Header], null!, Prefix)).ParamName);
        AssertInvariant("an at-rest header is written whole",
            () => AtRestFormat.WriteHeader(new byte[Header - 1], KeyA, Prefix));
        AssertInvariant("the nonce prefix has its fixed size",
            () => AtRestFormat.WriteHeader(new byte[Header], KeyA, Prefix[..7]));

        var header = Enumerable.Repeat((byte)0xff, Header).ToArray();
        AtRestFormat.WriteHeader(header, KeyA, Prefix);
        byte[] expected = [.. AtRestFormat.Magic, .. KeyA.Id, .. Prefix, 0, 1, 0, 0, 0, 0, 0, 0];
        Assert.Equal(expected, header);
    }

    [Fact]
    public void Segments_are_sealed_whole_in_the_current_version_and_opened_only_inside_the_file()
    {
        // Kills :235-237 ×2 each (an oversized segment, a short output or a version 1 header, which binds no chunk
        // id, sealed without complaint or with an empty message), :260 ×2 (a 31-byte digest bound as 31 bytes and a
        // zero) and :209 ×3 (a segment index past the file read as one, or the message emptied).
        var header = new byte[Header];
        AtRestFormat.WriteHeader(header, KeyA, Prefix);
        using var cipher = KeyA.CreateCipher();
        AssertInvariant("a segment holds at most one segment size", () => AtRestFormat.SealSegment(cipher, header, 0,
            true, new byte[Segment + 1], new byte[Segment + 1 + Tag], DigestOf(7)));
        AssertInvariant("a sealed segment is its bytes plus a tag", () => AtRestFormat.SealSegment(cipher, header, 0,
            true, new byte[10], new byte[10 + Tag - 1], DigestOf(7)));
        var version1 = header.ToArray();
        AtRestFormat.MagicVersion1.CopyTo(version1);
        AssertInvariant("new files are sealed in the current version", () => AtRestFormat.SealSegment(cipher,
            version1, 0, true, new byte[10], new byte[10 + Tag], DigestOf(7)));
        AssertInvariant("a version 2 segment binds a 32-byte chunk digest", () => AtRestFormat.SealSegment(cipher,
            header, 0, true, new byte[10], new byte[10 + Tag], DigestOf(7)[..31]));

        var sealedFile = Seal(KeyA, new byte[Segment], DigestOf(7));
        var plaintext = new byte[2 * Segment];
        Assert.True(AtRestFormat.TryOpenSegments(cipher, sealedFile, Segment, 0, 1, plaintext, DigestOf(7), out _));
        AssertInvariant("an at-rest segment index lies in the file", () => AtRestFormat.TryOpenSegments(cipher,
            sealedFile, Segment, 0, 2, plaintext, DigestOf(7), out _));
    }

    private static void AssertInvariant(string message, Action action) =>
        Assert.Equal(message, Assert.Throws<InvariantViolationException>(action).Message);
}
