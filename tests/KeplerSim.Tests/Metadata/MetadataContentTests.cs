using KeplerSim.Core.Metadata;

namespace KeplerSim.Tests.Metadata;

/// <summary>Looking versions up by content id (migration 4's index).</summary>
[Trait("Category", "Fast")]
public sealed class MetadataContentTests
{
    private static readonly string ChunkA = Rows.ChunkId("a");
    private static readonly string ChunkB = Rows.ChunkId("b");

    [Fact]
    public void Finds_the_winner_first_then_a_conflict_then_history_that_still_holds_its_chunks()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var history = Rows.File("/old", 5, winner: false, ChunkA);
        var conflict = Rows.File("/c", 8, 0, Rows.NodeB, winner: false, tombstone: false, ChunkA);
        var winner = Rows.File("/w", 7, winner: true, ChunkA);
        store.InsertFileVersion(history);
        store.SetSuperseded(history.Id, true);
        Assert.Equal(history.Id, store.FindByContentId(history.ContentId)?.Id);

        store.InsertFileVersion(conflict);
        Assert.Equal(conflict.Id, store.FindByContentId(history.ContentId)?.Id);

        store.InsertFileVersion(winner);
        Assert.Equal(winner.Id, store.FindByContentId(history.ContentId)?.Id);
        Assert.Null(store.FindByContentId(Rows.File("/x", 1, winner: true, ChunkB).ContentId));
    }

    [Fact]
    public void Ignores_tombstones_and_history_whose_chunk_references_were_dropped()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var history = Rows.File("/p", 5, winner: false, ChunkA);
        store.InsertFileVersion(history);
        store.SetSuperseded(history.Id, true);
        store.DropChunkReferences(history.Id);
        Assert.Null(store.FindByContentId(history.ContentId));

        // A tombstone's content id is never served, even as the winner.
        var tombstone = Rows.File("/t", 6, 0, Rows.NodeA, winner: true, tombstone: true);
        store.InsertFileVersion(tombstone);
        Assert.Null(store.FindByContentId(tombstone.ContentId));

        // An empty file has no chunk references but its (empty) content is always there.
        var empty = Rows.File("/e", 7, 0, Rows.NodeB, winner: false, tombstone: false);
        store.InsertFileVersion(empty);
        Assert.Equal(empty.Id, store.FindByContentId(empty.ContentId)?.Id);
    }

    [Fact]
    public void Finds_any_of_more_than_a_list_batch_of_versions_through_the_index()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var count = MetadataStore.ListBatchMax + 100;
        for (var i = 0; i < count; i++)
        {
            // Distinct contents, all history of one path except the last, which wins.
            var row = Rows.File("/many", 10 + i, winner: i == count - 1, Rows.ChunkId($"c{i}"));
            store.InsertFileVersion(row);
            if (i < count - 1)
            {
                store.SetSuperseded(row.Id, true);
            }
        }

        foreach (var i in new[] { 0, 1, count / 2, count - 1 })
        {
            var expected = Rows.File("/many", 10 + i, winner: false, Rows.ChunkId($"c{i}"));
            Assert.Equal(expected.Id, store.FindByContentId(expected.ContentId)?.Id);
        }

        Assert.Contains("files_content", QueryPlan(db, Rows.File("/many", 10, winner: false, ChunkA).ContentId));
    }

    [Fact]
    public void Migration_4_indexes_the_rows_a_version_3_database_already_has()
    {
        using var db = new MemoryDatabase();
        using (var connection = db.Open())
        {
            MetadataSchema.Migrate(connection, MetadataSchema.Migrations.Take(3).ToList());
        }

        Assert.Equal(3, db.Scalar("PRAGMA user_version"));
        Assert.Equal(0, db.Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'files_content'"));
        db.Execute($"""
            INSERT INTO files(id, path, size, chunk_ids, chunk_size, content_id, version_wall_us, version_logical,
                version_node, origin_node, tombstone, is_winner, created_at, manifest, superseded)
            VALUES ('v1', '/a', 100, '["{ChunkA}"]', 100, 'content-a', 1, 0, 'node-a', 'node-a', 0, 1, 5, NULL, 0),
                   ('v2', '/b', 100, '["{ChunkB}"]', 100, 'content-b', 2, 0, 'node-a', 'node-a', 0, 0, 5, NULL, 0);
            INSERT INTO chunk_refs(file_id, idx, chunk_id) VALUES ('v1', 0, '{ChunkA}'), ('v2', 0, '{ChunkB}');
            """);

        using var store = db.OpenStore();
        Assert.Equal(4, db.Scalar("PRAGMA user_version"));
        Assert.Equal(1, db.Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'files_content'"));
        Assert.Equal("v1", store.FindByContentId("content-a")?.Id);
        Assert.Equal("v2", store.FindByContentId("content-b")?.Id); // a conflict version, not a winner
        Assert.Equal(2, db.Scalar("SELECT count(*) FROM files INDEXED BY files_content WHERE content_id > ''"));
        Assert.Contains("files_content", QueryPlan(db, "content-a"));
    }

    [Fact]
    public void The_index_follows_versions_written_deleted_and_demoted_in_one_transaction()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var first = Rows.File("/p", 5, winner: true, ChunkA);
        var second = Rows.File("/p", 6, winner: true, ChunkB);
        store.Transaction(_ =>
        {
            store.InsertFileVersion(first);
            store.InsertFileVersion(second);
        });
        Assert.Equal(first.Id, store.FindByContentId(first.ContentId)?.Id); // demoted to a conflict, still kept
        Assert.True(store.DeleteFileVersion(first.Id));
        Assert.Null(store.FindByContentId(first.ContentId));
        Assert.Equal(second.Id, store.FindByContentId(second.ContentId)?.Id);
        Assert.Equal("ok", IntegrityCheck(db));
    }

    private static string QueryPlan(MemoryDatabase db, string contentId)
    {
        using var connection = db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN SELECT id FROM files f WHERE content_id = $c AND tombstone = 0 " +
            "ORDER BY is_winner DESC, superseded, version_wall_us DESC, version_logical DESC, version_node DESC " +
            "LIMIT 1";
        command.Parameters.AddWithValue("$c", contentId);
        using var reader = command.ExecuteReader();
        var plan = new List<string>();
        while (reader.Read())
        {
            plan.Add(reader.GetString(3));
        }

        return string.Join("\n", plan);
    }

    private static string IntegrityCheck(MemoryDatabase db)
    {
        using var connection = db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return (string)command.ExecuteScalar()!;
    }
}
