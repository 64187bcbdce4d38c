using System.Security.Cryptography;
using System.Text;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Runtime;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Tests.Metadata;

/// <summary>
/// A named in-memory shared-cache database kept alive by a keeper connection, as the simulator's node metadata is:
/// closing a worker connection is a crash (open transactions roll back), the data survives until the keeper goes.
/// </summary>
internal sealed class MemoryDatabase : IMetadataConnectionFactory, IDisposable
{
    private static long s_instances;
    private readonly string _connectionString;
    private readonly SqliteConnection _keeper;

    public MemoryDatabase()
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = $"metadata-test-{Interlocked.Increment(ref s_instances)}",
            Mode = SqliteOpenMode.Memory,
            Cache = SqliteCacheMode.Shared,
            Pooling = false,
        }.ToString();
        _keeper = new SqliteConnection(_connectionString);
        _keeper.Open();
    }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    public MetadataStore OpenStore() => MetadataStore.Open(this);

    public long Scalar(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    public void Execute(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => _keeper.Dispose();
}

internal static class Rows
{
    public static readonly NodeId NodeA = new("node-a");
    public static readonly NodeId NodeB = new("node-b");
    public static readonly NodeId NodeC = new("node-c");

    /// <summary>A realistic chunk id: SHA-256 hex of <paramref name="seed"/>.</summary>
    public static string ChunkId(string seed) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(seed)));

    public static StoredChunk Chunk(string id, long size = 100, ChunkState state = ChunkState.Durable) =>
        new(id, size, $"chunks/{id}", state, CreatedAtUs: 1_000);

    public static FileRow File(string path, long wallUs, bool winner, params string[] chunkIds) =>
        File(path, wallUs, 0, NodeA, winner, tombstone: false, chunkIds);

    public static FileRow File(string path, long wallUs, long logical, NodeId node, bool winner, bool tombstone,
        params string[] chunkIds) =>
        new($"{path}@{wallUs}.{logical}.{node}", path, chunkIds.Length * 100L, chunkIds, 100,
            $"content-{string.Join(",", chunkIds)}", wallUs, logical, node, NodeA, tombstone, winner, 5_000);
}
