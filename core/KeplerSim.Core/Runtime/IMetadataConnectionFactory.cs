using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Runtime;

/// <summary>
/// Supplies the node's SQLite metadata database. The simulator gives each node an in-memory database that
/// survives a simulated crash (committed = durable, open transactions roll back); a real node a WAL-mode file.
/// </summary>
public interface IMetadataConnectionFactory
{
    /// <summary>Opens a connection for this node incarnation. The host closes it when the node crashes.</summary>
    SqliteConnection Open();
}
