using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Tests.Manifests;

/// <summary>
/// Every limit a manifest enforces, at its last legal value and its first illegal one (Stryker's first Manifests/ run:
/// each <c>&gt;</c> could be <c>&gt;=</c> unseen, since the tests tried only values far over a limit).
/// </summary>
[Trait("Category", "Fast")]
public sealed class ManifestLimitsTests
{
    private static readonly NodeId N1 = new("n1");
    private static readonly VersionToken Version = new(1_000, 0, N1);

    [Fact]
    public void Attributes_are_accepted_up_to_their_count_and_character_limits()
    {
        var file = File();
        Assert.Equal(Manifest.AttributesMax, file.WithAttributes(Attributes(Manifest.AttributesMax, 1)).Attributes.Count);
        Assert.Throws<InvalidManifestException>(() => file.WithAttributes(Attributes(Manifest.AttributesMax + 1, 1)));

        var fill = Manifest.AttributesCharsMax - "a".Length; // One attribute of exactly the character limit.
        Assert.Single(file.WithAttributes([new("a", new string('v', fill))]).Attributes);
        Assert.Throws<InvalidManifestException>(() => file.WithAttributes([new("a", new string('v', fill + 1))]));
        Assert.Throws<ArgumentNullException>(() => file.WithAttributes(null!));
    }

    [Fact]
    public void A_manifest_supersedes_at_most_its_limit_of_versions()
    {
        var file = File();
        var older = Enumerable.Range(0, Manifest.SupersedesMax + 1).Select(i => new VersionToken(i, 0, N1)).ToList();
        Assert.Equal(Manifest.SupersedesMax, file.Superseding(older.Take(Manifest.SupersedesMax)).Supersedes.Length);
        Assert.Throws<InvalidManifestException>(() => file.Superseding(older));
        Assert.Throws<ArgumentNullException>(() => file.Superseding(null!));
    }

    [Fact]
    public void The_chunk_size_may_be_the_largest_the_chunker_makes()
    {
        var id = ChunkId.FromContent([1]);
        var path = FilePath.Parse("limits/big");
        Assert.Equal(Chunker.ChunkSizeBytesMax,
            Manifest.Create(path, 1, [id], Chunker.ChunkSizeBytesMax, Version, N1).ChunkSizeBytes);
        Assert.Throws<InvalidManifestException>(
            () => Manifest.Create(path, 1, [id], Chunker.ChunkSizeBytesMax + 1, Version, N1));
    }

    private static Manifest File() =>
        Manifest.Create(FilePath.Parse("limits/f"), 1, [ChunkId.FromContent([1])], 1024, Version, N1);

    private static Dictionary<string, string> Attributes(int count, int valueLength) =>
        Enumerable.Range(0, count).ToDictionary(i => $"k{i}", _ => new string('v', valueLength));
}
