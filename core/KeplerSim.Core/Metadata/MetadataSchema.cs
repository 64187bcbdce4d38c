using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Metadata;

/// <summary>One step of the schema: <see cref="Version"/> is the <c>user_version</c> after it ran.</summary>
internal sealed record Migration(int Version, string Sql);

/// <summary>
/// The metadata schema as an ordered list of migrations. <c>PRAGMA user_version</c> records how many ran; each
/// runs in its own transaction together with the version bump, so a crash leaves the database at a whole version.
/// </summary>
internal static class MetadataSchema
{
    /// <summary>Marks the file as a KeplerSim metadata database ("KPLR"), so a foreign database is refused.</summary>
    public const int ApplicationId = 0x4B504C52;

    // Migration 1 is the initial schema: the seed's model, extended for dedup, versions and conflicts.
    private const string InitialSchemaSql = """
        PRAGMA application_id = 1263553618;
        CREATE TABLE meta(
            key TEXT PRIMARY KEY NOT NULL,
            value TEXT NOT NULL);
        CREATE TABLE chunks(
            id TEXT PRIMARY KEY NOT NULL,
            size INTEGER NOT NULL CHECK (size >= 0),
            path TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('durable', 'hinted')),
            created_at INTEGER NOT NULL);
        CREATE TABLE files(
            id TEXT PRIMARY KEY NOT NULL,
            path TEXT NOT NULL,
            size INTEGER NOT NULL CHECK (size >= 0),
            chunk_ids TEXT NOT NULL,
            chunk_size INTEGER NOT NULL CHECK (chunk_size >= 0),
            content_id TEXT NOT NULL,
            version_wall_us INTEGER NOT NULL,
            version_logical INTEGER NOT NULL,
            version_node TEXT NOT NULL,
            origin_node TEXT NOT NULL,
            tombstone INTEGER NOT NULL CHECK (tombstone IN (0, 1)),
            is_winner INTEGER NOT NULL CHECK (is_winner IN (0, 1)),
            created_at INTEGER NOT NULL);
        CREATE INDEX files_path ON files(path, version_wall_us, version_logical, version_node);
        CREATE UNIQUE INDEX files_one_winner ON files(path) WHERE is_winner = 1;
        CREATE TABLE chunk_refs(
            file_id TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL CHECK (idx >= 0),
            chunk_id TEXT NOT NULL,
            PRIMARY KEY (file_id, idx)) WITHOUT ROWID;
        CREATE TABLE peers(
            id TEXT PRIMARY KEY NOT NULL,
            addr TEXT NOT NULL,
            gossip_port INTEGER NOT NULL,
            transfer_port INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('alive', 'suspect', 'dead', 'left')),
            incarnation INTEGER NOT NULL CHECK (incarnation >= 0));
        CREATE TABLE replication_queue(
            chunk_id TEXT NOT NULL,
            target_node_id TEXT NOT NULL,
            attempts INTEGER NOT NULL CHECK (attempts >= 0),
            last_attempt INTEGER,
            next_attempt_at INTEGER NOT NULL,
            request_id TEXT,
            PRIMARY KEY (chunk_id, target_node_id)) WITHOUT ROWID;
        """;

    // Migration 2: scrub bookkeeping, and the indexes the GC and replication scans need.
    private const string ScrubAndScanIndexesSql = """
        ALTER TABLE chunks ADD COLUMN verified_at INTEGER;
        CREATE INDEX chunk_refs_chunk ON chunk_refs(chunk_id, file_id);
        CREATE INDEX replication_queue_due ON replication_queue(next_attempt_at, chunk_id, target_node_id);
        CREATE INDEX replication_queue_request ON replication_queue(request_id, chunk_id, target_node_id)
            WHERE request_id IS NOT NULL;
        """;

    // Migration 3: the encoded manifest of each version (it carries what the version supersedes), and whether a
    // later version superseded it (history, not a conflict).
    private const string ManifestAndSupersededSql = """
        ALTER TABLE files ADD COLUMN manifest BLOB;
        ALTER TABLE files ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0 CHECK (superseded IN (0, 1));
        """;

    // Migration 4: look versions up by content id (GET /api/content/{id}) in O(log n). An index rather than a table:
    // SQLite keeps it in the same transaction as every insert, update and delete of a version, and CREATE INDEX
    // fills it from the rows already there. Within one content id the live candidates come first.
    private const string ContentIndexSql = """
        CREATE INDEX files_content ON files(content_id, tombstone, is_winner DESC, superseded,
            version_wall_us DESC, version_logical DESC, version_node DESC);
        """;

    /// <summary>Every migration, in order; the last one's version is the schema this build writes.</summary>
    public static readonly IReadOnlyList<Migration> Migrations =
    [
        new(1, InitialSchemaSql),
        new(2, ScrubAndScanIndexesSql),
        new(3, ManifestAndSupersededSql),
        new(4, ContentIndexSql),
    ];

    /// <summary>The schema version this build reads and writes.</summary>
    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>Reads <c>PRAGMA user_version</c>.</summary>
    public static int ReadVersion(SqliteConnection connection) => ReadPragma(connection, null, "user_version");

    /// <summary>
    /// Brings the database to the last version in <paramref name="migrations"/>. Refuses a database that is newer
    /// than that, or that carries another application's id.
    /// </summary>
    public static void Migrate(SqliteConnection connection, IReadOnlyList<Migration> migrations)
    {
        CheckOrder(migrations);
        var latest = migrations.Count == 0 ? 0 : migrations[^1].Version;
        foreach (var migration in migrations)
        {
            // Each step re-reads the version inside its own write transaction, so two connections opening the
            // same file cannot both run a step.
            using var transaction = connection.BeginTransaction(deferred: false);
            var version = ReadPragma(connection, transaction, "user_version");
            CheckUsable(connection, transaction, version, latest);
            if (version >= migration.Version)
            {
                continue;
            }

            Invariant.That(version == migration.Version - 1, "migrations are applied one version at a time");
            Execute(connection, transaction, migration.Sql);
            Execute(connection, transaction, $"PRAGMA user_version = {migration.Version};");
            transaction.Commit();
        }

        using var check = connection.BeginTransaction(deferred: true);
        CheckUsable(connection, check, ReadPragma(connection, check, "user_version"), latest);
    }

    private static void CheckUsable(SqliteConnection connection, SqliteTransaction transaction, int version,
        int latest)
    {
        if (version > latest)
        {
            throw new MetadataSchemaException(
                $"metadata database has schema version {version}, newer than this build supports ({latest}); " +
                "it was written by a newer KeplerSim and is left untouched");
        }

        var applicationId = ReadPragma(connection, transaction, "application_id");
        if (applicationId != 0 && applicationId != ApplicationId)
        {
            throw new MetadataSchemaException(
                $"metadata database has application_id 0x{applicationId:X8}, not KeplerSim's " +
                $"0x{ApplicationId:X8}; refusing to touch another application's database");
        }
    }

    private static void CheckOrder(IReadOnlyList<Migration> migrations)
    {
        for (var i = 0; i < migrations.Count; i++)
        {
            Invariant.That(migrations[i].Version == i + 1, "migration versions are 1, 2, 3, ... in order");
        }
    }

    private static int ReadPragma(SqliteConnection connection, SqliteTransaction? transaction, string name)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"PRAGMA {name};";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
