using System.Text;
using KeplerSim.Core.Metadata;

namespace KeplerSim.Tests.Metadata;

[Trait("Category", "Fast")]
public sealed class MetadataFileTests
{
    private static readonly string ChunkA = Rows.ChunkId("a");
    private static readonly string ChunkB = Rows.ChunkId("b");

    private static void AssertSame(FileRow expected, FileRow? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected with { ChunkIds = [] }, actual with { ChunkIds = [] });
        Assert.Equal(expected.ChunkIds, actual.ChunkIds);
    }

    [Fact]
    public void Insert_and_read_back_a_version()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var file = Rows.File("/docs/a.txt", 10, winner: true, ChunkA, ChunkB, ChunkA);
        Assert.True(store.InsertFileVersion(file));
        AssertSame(file, store.GetWinner("/docs/a.txt"));
        AssertSame(file, store.GetFileVersion(file.Id));
        Assert.Null(store.GetWinner("/docs/b.txt"));
        Assert.Equal(3, db.Scalar("SELECT count(*) FROM chunk_refs"));
        Assert.Equal($"[\"{ChunkA}\",\"{ChunkB}\",\"{ChunkA}\"]", ReadChunkIdsColumn(db, file.Id));

        // Gossip delivers the same manifest again: nothing changes.
        Assert.False(store.InsertFileVersion(file with { IsWinner = false }));
        Assert.True(store.GetWinner("/docs/a.txt")!.IsWinner);
        Assert.Equal(3, db.Scalar("SELECT count(*) FROM chunk_refs"));
    }

    private static string ReadChunkIdsColumn(MemoryDatabase db, string id)
    {
        using var connection = db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT chunk_ids FROM files WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return (string)command.ExecuteScalar()!;
    }

    [Fact]
    public void New_winner_demotes_the_old_one_to_a_conflict_version()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var first = Rows.File("/p", 10, 0, Rows.NodeA, winner: true, tombstone: false, ChunkA);
        var tie = Rows.File("/p", 10, 0, Rows.NodeB, winner: true, tombstone: false, ChunkB);
        var older = Rows.File("/p", 9, 5, Rows.NodeC, winner: false, tombstone: false, ChunkB);
        var newer = Rows.File("/p", 10, 1, Rows.NodeA, winner: false, tombstone: false);
        store.InsertFileVersion(first);
        store.InsertFileVersion(tie);
        store.InsertFileVersion(older);
        store.InsertFileVersion(newer);
        Assert.Equal(tie.Id, store.GetWinner("/p")!.Id);

        var versions = store.ListFileVersions("/p");
        Assert.Equal([newer.Id, tie.Id, first.Id, older.Id], versions.Select(version => version.Id));
        Assert.Equal([false, true, false, false], versions.Select(version => version.IsWinner));
        Assert.Equal(2, store.ListFileVersions("/p", limit: 2).Count);

        Assert.True(store.MarkWinner(newer.Id));
        Assert.Equal(newer.Id, store.GetWinner("/p")!.Id);
        Assert.Equal(1, db.Scalar("SELECT count(*) FROM files WHERE path = '/p' AND is_winner = 1"));
        Assert.False(store.MarkWinner("no-such-version"));
        Assert.Equal(newer.Id, store.GetWinner("/p")!.Id);
    }

    [Fact]
    public void Paths_list_only_live_winners_in_order()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        store.InsertFileVersion(Rows.File("/b", 1, winner: true, ChunkA));
        store.InsertFileVersion(Rows.File("/a", 1, winner: true, ChunkA));
        store.InsertFileVersion(Rows.File("/c", 1, winner: false, ChunkA));
        store.InsertFileVersion(Rows.File("/d", 1, 0, Rows.NodeA, winner: true, tombstone: true));
        store.InsertFileVersion(Rows.File("/B", 1, winner: true, ChunkA));
        Assert.Equal(["/B", "/a", "/b"], store.ListPaths("/"));
        Assert.Equal(["/a", "/b"], store.ListPaths("/", afterPath: "/B"));
        Assert.Equal(["/B"], store.ListPaths("/", limit: 1));
        Assert.Equal(["/b"], store.ListPaths("/b"));
        Assert.Empty(store.ListPaths("/d"));
    }

    [Fact]
    public void Prefix_is_literal_for_like_wildcards_and_escapes()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        string[] paths =
        [
            "/50%/x", "/50x/x", "/505/x", "/a_b/1", "/aXb/1", "/a\\b", "/a\\\\b", "/a%", "/a", "/ab", "/a_",
            "/é", "/e\u0301", "/\uFFFF", "/\U0001F600x", "/\U0010FFFF", "/\U0010FFFF\U0010FFFFz", "/z",
        ];
        for (var i = 0; i < paths.Length; i++)
        {
            store.InsertFileVersion(Rows.File(paths[i], i + 1, winner: true, ChunkA));
        }

        string[] prefixes =
        [
            "", "/", "/50%", "/50", "/a_", "/a_b", "/a%", "/a\\", "/a\\\\", "/a", "/é", "/e", "/\uFFFF",
            "/\U0001F600", "/\U0010FFFF", "/\U0010FFFF\U0010FFFF", "%", "_", "/z",
        ];
        foreach (var prefix in prefixes)
        {
            var expected = paths.Where(path => path.StartsWith(prefix, StringComparison.Ordinal))
                .OrderBy(path => path, CodePointOrder.Instance).ToList();
            Assert.Equal(expected, store.ListPaths(prefix));
        }
    }

    [Fact]
    public void Prefix_upper_bound_increments_the_last_code_point()
    {
        Assert.Null(MetadataStore.PrefixUpperBound(""));
        Assert.Equal("/b", MetadataStore.PrefixUpperBound("/a"));
        Assert.Equal("a&", MetadataStore.PrefixUpperBound("a%"));
        Assert.Equal("\uE000", MetadataStore.PrefixUpperBound("\uD7FF"));
        Assert.Equal("\U0001F601", MetadataStore.PrefixUpperBound("\U0001F600"));
        Assert.Equal("\U00010000", MetadataStore.PrefixUpperBound("\uFFFF"));
        Assert.Equal("b", MetadataStore.PrefixUpperBound("a\U0010FFFF\U0010FFFF"));
        Assert.Null(MetadataStore.PrefixUpperBound("\U0010FFFF"));
    }

    [Fact]
    public void Bad_file_rows_are_refused()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var good = Rows.File("/p", 1, winner: true, ChunkA);
        Assert.Throws<ArgumentException>(() => store.InsertFileVersion(good with { Id = "" }));
        Assert.Throws<ArgumentException>(() => store.InsertFileVersion(good with { Path = "" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.InsertFileVersion(good with { SizeBytes = -1 }));
        Assert.Throws<ArgumentException>(() => store.InsertFileVersion(good with { ChunkIds = [ChunkA, ""] }));
        Assert.Throws<ArgumentNullException>(() => store.InsertFileVersion(good with { VersionNode = default }));
        Assert.Throws<ArgumentException>(() => store.ListPaths(new string('/', MetadataStore.PathLengthMax + 1)));
        Assert.Throws<ArgumentException>(() => store.GetWinner(""));
        Assert.Equal(0, db.Scalar("SELECT count(*) FROM files"));
    }

    /// <summary>SQLite BINARY order on UTF-8 is code point order; ordinal UTF-16 differs above U+D7FF.</summary>
    private sealed class CodePointOrder : IComparer<string>
    {
        public static readonly CodePointOrder Instance = new();

        public int Compare(string? x, string? y) =>
            Encoding.UTF8.GetBytes(x!).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y!));
    }
}
