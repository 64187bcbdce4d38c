using KeplerSim.Core.Runtime;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// The node's metadata: <c>DATA_DIR/meta.db</c> in WAL mode with <c>synchronous=FULL</c>, so a committed
/// transaction (the replication queue, the chunk index, manifests) survives a crash or power loss.
/// </summary>
/// <remarks>Core runs SQLite synchronously on the loop; a commit costs one WAL fsync on the loop thread.</remarks>
public sealed class SqliteMetadata(string path) : IMetadataConnectionFactory
{
    /// <summary>The database file name inside the data directory.</summary>
    public const string FileName = "meta.db";

    /// <summary>The database file.</summary>
    public string Path => path;

    /// <inheritdoc />
    public SqliteConnection Open()
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 5,
        };
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        using var pragmas = connection.CreateCommand();
        // journal_mode persists in the file; synchronous and busy_timeout are per connection.
        pragmas.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;";
        pragmas.ExecuteNonQuery();
        return connection;
    }
}
