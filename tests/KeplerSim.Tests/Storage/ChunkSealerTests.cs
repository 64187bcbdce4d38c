using KeplerSim.Core;
using KeplerSim.Core.Storage;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// The sealer on its own (issue 13 point 9, Storage survivors of the eighth session): however the plaintext is cut
/// into pushes, the file is the same canonical header and segments a reader opens; a finished file takes nothing
/// more; disposing hands both pooled buffers back.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ChunkSealerTests
{
    private const int SegmentBytes = AtRestFormat.SegmentSizeBytes;

    private static readonly AtRestKey Key = new(Enumerable.Repeat((byte)7, AtRestKey.KeySizeBytes).ToArray());
    private static readonly byte[] NoncePrefix = [1, 2, 3, 4, 5, 6, 7, 8];
    private static readonly byte[] Digest = Enumerable.Range(0, ChunkId.DigestBytes).Select(i => (byte)i).ToArray();

    [Theory]
    // Small pieces that fill the pending segment exactly and then end: the segment is the final one, not followed
    // by an empty final segment (ChunkSealer.cs:45 "> as >=" sealed it early and wrote a file of a wrong length).
    [InlineData(new[] { 1000, 1000, SegmentBytes - 2000 })]
    [InlineData(new[] { 1000, SegmentBytes - 1000 })]
    // Two small pieces in a row (45 "&& as ||" took more than the piece held and threw).
    [InlineData(new[] { 1000, 1000, 1000 })]
    [InlineData(new[] { 1000, SegmentBytes - 1000, 1 })]
    [InlineData(new[] { 1000, 1000, SegmentBytes - 2000, SegmentBytes, 5 })]
    [InlineData(new[] { 1, (3 * SegmentBytes) + 17, SegmentBytes - 18, 0, 2 })]
    [InlineData(new[] { SegmentBytes, SegmentBytes })]
    [InlineData(new[] { 0, 0 })]
    public void Any_cut_into_pushes_seals_the_one_file_a_reader_opens(int[] pieces)
    {
        var total = pieces.Sum();
        var plaintext = Enumerable.Range(0, total).Select(i => (byte)(i * 31)).ToArray();
        var whole = Seal(plaintext, [total]);
        var file = Seal(plaintext, pieces);

        Assert.Equal(AtRestFormat.StoredLength(total), file.Length);
        Assert.Equal(whole, file); // Same key and nonce prefix: the cut must not show in the file.
        Assert.True(AtRestFormat.TryOpen(Key, file, Digest, out var length, out var reason), reason);
        Assert.Equal(plaintext, file.AsSpan(0, length).ToArray());
    }

    [Fact]
    public void A_finished_file_takes_no_more_plaintext_and_is_finished_once()
    {
        // Kills ChunkSealer.cs:42 and 69 (the invariants removed or their messages emptied) and 72 (the file never
        // marked finished: a second Finish sealed another final segment after the first).
        using var sealer = new ChunkSealer(Key, NoncePrefix, Digest);
        sealer.Push(new byte[10]);
        sealer.Finish();
        var push = Assert.Throws<InvariantViolationException>(() => sealer.Push(new byte[1]));
        Assert.Contains("no plaintext after the final segment", push.Message, StringComparison.Ordinal);
        var finish = Assert.Throws<InvariantViolationException>(() => sealer.Finish());
        Assert.Contains("a chunk file is finished once", finish.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Disposing_hands_the_pending_segment_and_the_output_back_to_the_pool()
    {
        // Kills ChunkSealer.cs:80 (the pending segment never returned), 82/84 (the output never returned) and
        // 95/97 (an outgrown output never returned): each leaks a pooled array per chunk file, so a node writing
        // chunks allocates fresh 64-256 KiB arrays for every file. The pool keeps a bounded number of arrays per
        // size (a few dozen), so 300 files allocate megabytes when one leaks and next to nothing when none does.
        var plaintext = new byte[(3 * SegmentBytes) + 1];
        SealAndDispose(plaintext); // Warm the pool: the first file may rent fresh arrays.
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 300; i++)
        {
            SealAndDispose(plaintext);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4 << 20, $"300 sealed files allocated {allocated} bytes: a pooled array leaks");
    }

    [Fact]
    public void A_sealer_disposed_before_any_plaintext_returns_what_it_rented()
    {
        // A writer abandoned before its first append disposes a sealer whose output was never rented (the empty
        // array): disposing it, even twice, throws nothing. (Handing the empty array to the pool is harmless, the
        // pool drops it: ChunkSealer.cs:82 and 95 ">= 0" are equivalent, checked by hand with this test.)
        var sealer = new ChunkSealer(Key, NoncePrefix, Digest);
        Assert.Null(Record.Exception(() =>
        {
            sealer.Dispose();
            sealer.Dispose(); // Twice is harmless.
        }));
    }

    private static void SealAndDispose(byte[] plaintext)
    {
        using var sealer = new ChunkSealer(Key, NoncePrefix, Digest);
        sealer.Push(plaintext.AsSpan(0, SegmentBytes + 1)); // Rents an output for the header and one segment...
        sealer.Push(plaintext.AsSpan(SegmentBytes + 1)); // ...then outgrows it (two segments).
        sealer.Finish();
    }

    private static byte[] Seal(byte[] plaintext, int[] pieces)
    {
        using var sealer = new ChunkSealer(Key, NoncePrefix, Digest);
        var file = new List<byte>();
        var at = 0;
        foreach (var piece in pieces)
        {
            // Each result is valid until the next call: copy it at once, as the writer appends it at once.
            file.AddRange(sealer.Push(plaintext.AsSpan(at, piece)).ToArray());
            at += piece;
        }

        file.AddRange(sealer.Finish().ToArray());
        return [.. file];
    }
}
