using KeplerSim.Core.Metadata;
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
