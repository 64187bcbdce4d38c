using System.Buffers;
using CsCheck;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using MessagePack;

namespace KeplerSim.Tests.Manifests;

[Trait("Category", "Fast")]
public sealed class ManifestCodecTests
{
    private static readonly Manifest Sample = Manifest.Create(
        FilePath.Parse("docs/report.pdf"),
        2_500,
        [ChunkId.FromContent("a"u8), ChunkId.FromContent("b"u8), ChunkId.FromContent("a"u8)],
        1_000,
        new VersionToken(1_700_000_000_000_000, 3, new NodeId("n1")),
        new NodeId("n2"));

    [Fact]
    public void Any_manifest_round_trips() =>
        ManifestTests.AnyManifest.Sample(manifest =>
        {
            var decoded = ManifestCodec.Decode(ManifestCodec.Encode(manifest));
            Assert.Equal(manifest, decoded);
            Assert.Equal(manifest.ContentId, decoded.ContentId);
        }, iter: 1_000);

    [Fact]
    public void A_manifest_travels_inside_another_message()
    {
        var message = new CarrierMessage(42, Sample, null);
        var buffer = new ArrayBufferWriter<byte>();
        MessagePackSerializer.Serialize(buffer, message, ManifestCodec.Options);

        var decoded = MessagePackSerializer.Deserialize<CarrierMessage>(buffer.WrittenMemory, ManifestCodec.Options);

        Assert.Equal(42, decoded.Sequence);
        Assert.Equal(Sample, decoded.Manifest);
        Assert.Null(decoded.Missing);
    }

    [Fact]
    public void Garbage_bytes_never_produce_a_manifest_nor_an_undocumented_exception() =>
        Gen.Byte.Array[0, 300].Sample(bytes => AssertDecodesOrRejects(bytes), iter: 20_000);

    [Fact]
    public void Corrupted_encodings_never_produce_a_bad_manifest_nor_an_undocumented_exception()
    {
        var encoded = ManifestCodec.Encode(Sample);
        Gen.Select(Gen.Int[0, encoded.Length - 1].Array[1, 4], Gen.Byte.Array[4], Gen.Int[1, encoded.Length])
            .Sample((positions, values, length) =>
            {
                var corrupted = (byte[])encoded.Clone();
                for (var i = 0; i < positions.Length; i++)
                {
                    corrupted[positions[i]] = values[i];
                }

                AssertDecodesOrRejects(corrupted);
                AssertDecodesOrRejects(encoded.AsSpan(0, length).ToArray());
            }, iter: 20_000);
    }

    [Fact]
    public void Specific_hostile_inputs_are_rejected_with_a_clear_message()
    {
        AssertRejected([], "malformed");
        AssertRejected([0xc0], "nil, not a manifest");
        AssertRejected([.. ManifestCodec.Encode(Sample), 0x01], "1 trailing bytes");
        AssertRejected(Wire(w => WriteFields(w, fields: 10)), "manifest has 10 fields; expected at least 11");
        AssertRejected(Wire(w => WriteFields(w, formatVersion: 2)), "format version 2 is not supported");
        AssertRejected(Wire(w => WriteFields(w, path: "/abs")), "bad path: path '/abs' starts with '/'");
        AssertRejected(Wire(w => WriteFields(w, path: null)), "bad path: path is missing (null)");
        AssertRejected(Wire(w => WriteFields(w, sizeBytes: 3_001)), "3 chunks but size 3001 in chunks of 1000 needs 4");
        AssertRejected(Wire(w => WriteFields(w, contentId: new byte[32])), "does not match its chunks");
        AssertRejected(Wire(w => WriteFields(w, contentId: new byte[31])), "content id is not a 32-byte digest");
        AssertRejected(Wire(w => WriteFields(w, chunkDigestBytes: 33)), "chunk 0 is not a 32-byte digest");
        AssertRejected(Wire(w => WriteFields(w, origin: "")), "origin node id is missing");
        AssertRejected(Wire(w => WriteFields(w, origin: new string('o', 256))), "longer than 255 characters");
        AssertRejected(Wire(w => WriteFields(w, logical: -1)), "negative logical counter -1");
        AssertRejected(Wire(w => WriteFields(w, isTombstone: true)), "tombstone has size 2500");
        var tooManyChunks = Wire(w => WriteChunkCount(w, Manifest.ChunksMax + 1))
            .Concat(Enumerable.Repeat((byte)0xc0, Manifest.ChunksMax + 32)) // enough to pass MessagePack's own check
            .ToArray();
        AssertRejected(
            tooManyChunks, $"manifest has {Manifest.ChunksMax + 1} chunks; the limit is {Manifest.ChunksMax}");
        AssertRejected(new byte[ManifestCodec.EncodedBytesMax + 1], $"the limit is {ManifestCodec.EncodedBytesMax}");
    }

    [Fact]
    public void Fields_added_by_a_later_version_are_skipped()
    {
        var bytes = Wire(w =>
        {
            WriteFields(w, fields: 15);
            w.WriteMapHeader(1);
            w.Write("future");
            w.WriteArrayHeader(2);
            w.Write(1);
            w.Write("two");
            w.Write(3.5);
        });

        Assert.Equal(Sample, ManifestCodec.Decode(bytes));
    }

    [Fact]
    public void Deeply_nested_extra_fields_cannot_overflow_the_stack()
    {
        // 200 000 nested one-element arrays would blow a recursive skipper's stack; ours loops instead.
        var nested = Wire(w =>
        {
            WriteFields(w, fields: 14);
            for (var i = 0; i < 200_000; i++)
            {
                w.WriteArrayHeader(1);
            }

            w.Write(0);
        });
        Assert.Equal(Sample, ManifestCodec.Decode(nested));

        AssertRejected(nested[..^1], "malformed");
    }

    [Fact]
    public void The_largest_manifest_fits_the_encoded_size_limit()
    {
        var ids = Enumerable.Range(0, Manifest.ChunksMax).Select(i => ChunkId.FromContent(BitConverter.GetBytes(i)));
        var largest = Manifest.Create(
            FilePath.Parse(string.Join('/', Enumerable.Repeat(new string('p', 200), 5))),
            Manifest.ChunksMax * 3L,
            ids,
            3,
            new VersionToken(long.MaxValue, int.MaxValue, new NodeId(new string('v', 255))),
            new NodeId(new string('o', 255)));

        var encoded = ManifestCodec.Encode(largest);

        Assert.InRange(encoded.Length, 1, ManifestCodec.EncodedBytesMax);
        Assert.Equal(largest, ManifestCodec.Decode(encoded));
        Assert.Equal(Chunker.ChunkCountMax, Manifest.ChunksMax);
    }

    private static void AssertDecodesOrRejects(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            // Anything that decodes went through the checked constructor; it must also re-encode to itself.
            var manifest = ManifestCodec.Decode(bytes);
            Assert.Equal(manifest, ManifestCodec.Decode(ManifestCodec.Encode(manifest)));
        }
        catch (InvalidManifestException error)
        {
            Assert.False(string.IsNullOrWhiteSpace(error.Message));
        }
    }

    private static void AssertRejected(byte[] bytes, string expected)
    {
        var error = Assert.Throws<InvalidManifestException>(() => ManifestCodec.Decode(bytes));
        Assert.True(error.Message.Contains(expected, StringComparison.Ordinal), error.ToString());
    }

    private static byte[] Wire(Action<WriterBox> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var box = new WriterBox(buffer);
        write(box);
        box.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    // Writes Sample's fields in wire order, with any one of them overridden.
    private static void WriteFields(
        WriterBox w,
        int fields = 11,
        int formatVersion = 1,
        string? path = "docs/report.pdf",
        long sizeBytes = 2_500,
        int chunkDigestBytes = 32,
        byte[]? contentId = null,
        int logical = 3,
        string origin = "n2",
        bool isTombstone = false)
    {
        w.WriteArrayHeader(fields);
        w.Write(formatVersion);
        w.Write(path);
        w.Write(sizeBytes);
        w.Write(Sample.ChunkSizeBytes);
        w.WriteArrayHeader(Sample.Chunks.Count);
        foreach (var chunk in Sample.Chunks)
        {
            var digest = new byte[Math.Max(32, chunkDigestBytes)];
            chunk.WriteDigest(digest);
            w.WriteBytes(digest.AsSpan(0, chunkDigestBytes).ToArray());
        }

        if (fields < 11)
        {
            return;
        }

        w.WriteBytes(contentId ?? Convert.FromHexString(Sample.ContentId));
        w.Write(Sample.Version.WallMicroseconds);
        w.Write(logical);
        w.Write(Sample.Version.Node.Value);
        w.Write(origin);
        w.Write(isTombstone);
        if (fields >= 12)
        {
            w.WriteArrayHeader(0); // field 12: the versions this one supersedes (none)
        }

        if (fields >= 13)
        {
            w.WriteMapHeader(0); // field 13: attributes (none)
        }
    }

    private static void WriteChunkCount(WriterBox w, int count)
    {
        w.WriteArrayHeader(11);
        w.Write(1);
        w.Write("a");
        w.Write(1L);
        w.Write(1);
        w.WriteArrayHeader(count);
    }

    /// <summary>MessagePackWriter is a ref struct; this box lets lambdas write through it.</summary>
    private sealed class WriterBox(IBufferWriter<byte> output)
    {
        private readonly ArrayBufferWriter<byte> _pending = new();

        public void WriteArrayHeader(int count) => Put((ref MessagePackWriter w) => w.WriteArrayHeader(count));

        public void WriteMapHeader(int count) => Put((ref MessagePackWriter w) => w.WriteMapHeader(count));

        public void Write(int value) => Put((ref MessagePackWriter w) => w.Write(value));

        public void Write(long value) => Put((ref MessagePackWriter w) => w.Write(value));

        public void Write(double value) => Put((ref MessagePackWriter w) => w.Write(value));

        public void Write(bool value) => Put((ref MessagePackWriter w) => w.Write(value));

        public void Write(string? value) => Put((ref MessagePackWriter w) => w.Write(value));

        public void WriteBytes(byte[] value) => Put((ref MessagePackWriter w) => w.Write(value.AsSpan()));

        public void Flush() => output.Write(_pending.WrittenSpan);

        private void Put(WriteAction action)
        {
            var writer = new MessagePackWriter(_pending);
            action(ref writer);
            writer.Flush();
        }

        private delegate void WriteAction(ref MessagePackWriter writer);
    }
}

[MessagePackObject]
public sealed record CarrierMessage(
    [property: Key(0)] int Sequence,
    [property: Key(1)] Manifest Manifest,
    [property: Key(2)] Manifest? Missing);
