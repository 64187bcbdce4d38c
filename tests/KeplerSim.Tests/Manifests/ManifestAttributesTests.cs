using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using MessagePack;

namespace KeplerSim.Tests.Manifests;

/// <summary>The optional attributes field (S3 metadata): round trip, limits, and old encodings unchanged.</summary>
[Trait("Category", "Fast")]
public sealed class ManifestAttributesTests
{
    private static readonly VersionToken Version = new(1_000, 0, new NodeId("n1"));

    private static Manifest File() => Manifest.Create(FilePath.Parse("bucket/key"), 10,
        [ChunkId.Parse(new string('a', 64))], 1024, Version, new NodeId("n1"));

    [Fact]
    public void Attributes_round_trip_take_part_in_equality_and_leave_the_content_id_alone()
    {
        var plain = File();
        var tagged = plain.WithAttributes(new Dictionary<string, string>
        {
            ["s3-etag"] = "0123456789abcdef0123456789abcdef",
            ["content-type"] = "text/plain",
        });
        var decoded = ManifestCodec.Decode(ManifestCodec.Encode(tagged));
        Assert.Equal(tagged, decoded);
        Assert.Equal("text/plain", decoded.Attributes["content-type"]);
        Assert.Equal(["content-type", "s3-etag"], decoded.Attributes.Keys);
        Assert.NotEqual(plain, tagged);
        Assert.Equal(plain.ContentId, tagged.ContentId);
        Assert.Equal(tagged.Attributes, tagged.Superseding([new VersionToken(999, 0, new NodeId("n2"))]).Attributes);
    }

    [Fact]
    public void A_manifest_without_attributes_keeps_its_twelve_field_encoding()
    {
        // Older nodes and recorded traces see the same bytes as before the field existed.
        var reader = new MessagePackReader(ManifestCodec.Encode(File()));
        Assert.Equal(12, reader.ReadArrayHeader());
        var tagged = new MessagePackReader(ManifestCodec.Encode(File().WithAttributes(
            new Dictionary<string, string> { ["a"] = "b" })));
        Assert.Equal(13, tagged.ReadArrayHeader());
    }

    [Fact]
    public void Attributes_over_the_limits_or_on_a_tombstone_are_refused()
    {
        Assert.Throws<InvalidManifestException>(() => File().WithAttributes(Enumerable.Range(0,
            Manifest.AttributesMax + 1).Select(i => new KeyValuePair<string, string>($"k{i}", "v"))));
        Assert.Throws<InvalidManifestException>(() => File().WithAttributes(
            new Dictionary<string, string> { ["big"] = new string('x', Manifest.AttributesCharsMax) }));
        Assert.Throws<InvalidManifestException>(() => File().WithAttributes(
            new Dictionary<string, string> { [""] = "empty name" }));
        Assert.Throws<InvalidManifestException>(() => Manifest.CreateTombstone(FilePath.Parse("a"), Version,
            new NodeId("n1")).WithAttributes(new Dictionary<string, string> { ["a"] = "b" }));
    }
}
