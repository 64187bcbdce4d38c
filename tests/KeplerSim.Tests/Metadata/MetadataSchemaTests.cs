using KeplerSim.Core.Manifests;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Tests.Metadata;

[Trait("Category", "Fast")]
public sealed class MetadataSchemaTests
{
    private static long Pragma(SqliteConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name}";
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public void Empty_database_migrates_to_the_latest_version()
    {
        using var db = new MemoryDatabase();
        using (db.OpenStore())
        {
        }

        Assert.Equal(MetadataStore.LatestSchemaVersion, db.Scalar("PRAGMA user_version"));
        Assert.Equal(4, MetadataStore.LatestSchemaVersion);
        Assert.Equal(MetadataSchema.ApplicationId, db.Scalar("PRAGMA application_id"));
        foreach (var table in new[] { "meta", "chunks", "chunk_refs", "files", "peers", "replication_queue" })
        {
            Assert.Equal(1, db.Scalar($"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'"));
        }

        Assert.Equal(1, db.Scalar("SELECT count(*) FROM pragma_table_info('chunks') WHERE name = 'verified_at'"));
        Assert.Equal(1, db.Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'replication_queue_due'"));
    }

    [Fact]
    public void Version_1_database_is_migrated_and_keeps_its_rows()
    {
        using var db = new MemoryDatabase();
        using (var connection = db.Open())
        {
            MetadataSchema.Migrate(connection, MetadataSchema.Migrations.Take(1).ToList());
            Assert.Equal(1, Pragma(connection, "user_version"));
        }

        var id = Rows.ChunkId("old");
        db.Execute($"INSERT INTO chunks(id, size, path, state, created_at) VALUES ('{id}', 7, 'p', 'hinted', 3)");
        Assert.Equal(0, db.Scalar("SELECT count(*) FROM pragma_table_info('chunks') WHERE name = 'verified_at'"));

        using var store = db.OpenStore();
        Assert.Equal(MetadataStore.LatestSchemaVersion, db.Scalar("PRAGMA user_version"));
        Assert.Equal(new StoredChunk(id, 7, "p", ChunkState.Hinted, 3, null), store.GetChunk(id));
        Assert.True(store.MarkChunkVerified(id, 9));
        Assert.Equal(9, store.GetChunk(id)!.VerifiedAtUs);
    }

    /// <summary>
    /// Migration 3 added each version's encoded manifest without back-filling it: a version recorded before it has
    /// none, and the node rebuilds its manifest from the row's columns (KeplerNode.FromRow), a file as a file and a
    /// delete as a tombstone. Nothing writes such a row today, so only a version-2 database shows it.
    /// </summary>
    [Fact]
    public void Version_2_versions_without_an_encoded_manifest_read_back_as_the_file_or_delete_they_record()
    {
        using var db = new MemoryDatabase();
        using (var connection = db.Open())
        {
            MetadataSchema.Migrate(connection, MetadataSchema.Migrations.Take(2).ToList());
        }

        var (a, b) = (Rows.ChunkId("a"), Rows.ChunkId("b"));
        const string Columns = "id, path, size, chunk_ids, chunk_size, content_id, version_wall_us, version_logical, " +
            "version_node, origin_node, tombstone, is_winner, created_at";
        db.Execute($"INSERT INTO files({Columns}) VALUES ('f1', 'docs/kept.txt', 150, '[\"{a}\",\"{b}\"]', 100, " +
            "'c1', 7000, 2, 'node-b', 'node-a', 0, 1, 5)");
        db.Execute($"INSERT INTO files({Columns}) VALUES ('f2', 'docs/gone.txt', 0, '[]', 0, 'c2', 8000, 0, " +
            "'node-c', 'node-b', 1, 1, 6)");

        using var store = db.OpenStore();
        var kept = KeplerNode.FromRow(store.GetWinner("docs/kept.txt")!);
        Assert.False(kept.IsTombstone);
        Assert.Equal(150, kept.SizeBytes);
        Assert.Equal(100, kept.ChunkSizeBytes);
        Assert.Equal([a, b], kept.Chunks.Select(c => c.Hex));
        Assert.Equal(new VersionToken(7000, 2, Rows.NodeB), kept.Version);
        Assert.Equal(Rows.NodeA, kept.Origin);
        var gone = KeplerNode.FromRow(store.GetWinner("docs/gone.txt")!);
        Assert.True(gone.IsTombstone);
        Assert.Empty(gone.Chunks);
        Assert.Equal(new VersionToken(8000, 0, Rows.NodeC), gone.Version);
        Assert.Equal(Rows.NodeB, gone.Origin);
    }

    [Fact]
    public void Reopening_a_current_database_changes_nothing()
    {
        using var db = new MemoryDatabase();
        using (var store = db.OpenStore())
        {
            store.UpsertChunk(Rows.Chunk(Rows.ChunkId("a")));
        }

        using (var store = db.OpenStore())
        {
            Assert.Equal(1, store.CountChunks());
        }

        Assert.Equal(MetadataStore.LatestSchemaVersion, db.Scalar("PRAGMA user_version"));
    }

    [Fact]
    public void Newer_database_is_refused_and_left_untouched()
    {
        using var db = new MemoryDatabase();
        using (db.OpenStore())
        {
        }

        var newer = MetadataStore.LatestSchemaVersion + 1;
        db.Execute($"PRAGMA user_version = {newer}");
        var error = Assert.Throws<MetadataSchemaException>(() => db.OpenStore());
        Assert.Contains($"schema version {newer}", error.Message);
        Assert.Contains($"supports ({MetadataStore.LatestSchemaVersion})", error.Message);
        Assert.Equal(newer, db.Scalar("PRAGMA user_version"));
    }

    [Fact]
    public void Foreign_application_database_is_refused()
    {
        using var db = new MemoryDatabase();
        db.Execute("PRAGMA application_id = 42");
        var error = Assert.Throws<MetadataSchemaException>(() => db.OpenStore());
        Assert.Contains("application_id", error.Message);
        Assert.Equal(0, db.Scalar("PRAGMA user_version"));
        Assert.Equal(0, db.Scalar("SELECT count(*) FROM sqlite_master"));
    }

    [Fact]
    public void Failing_migration_rolls_back_to_the_previous_whole_version()
    {
        using var db = new MemoryDatabase();
        Migration[] migrations =
        [
            MetadataSchema.Migrations[0],
            new(2, "CREATE TABLE half_done(x INTEGER); THIS IS NOT SQL;"),
        ];
        using (var connection = db.Open())
        {
            Assert.Throws<SqliteException>(() => MetadataSchema.Migrate(connection, migrations));
        }

        Assert.Equal(1, db.Scalar("PRAGMA user_version"));
        Assert.Equal(0, db.Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"));
        Assert.Equal(1, db.Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'chunks'"));
    }

    [Fact]
    public void Limits_relate_sensibly()
    {
        Assert.True(MetadataStore.QueueBatchMax <= MetadataStore.ListBatchMax);
        Assert.True(MetadataStore.IdLengthMax < MetadataStore.PathLengthMax);
        Assert.True(MetadataStore.PathLengthMax < MetadataStore.MetaValueLengthMax);
        Assert.True(64 <= MetadataStore.IdLengthMax, "a SHA-256 hex chunk id fits");
    }
}
