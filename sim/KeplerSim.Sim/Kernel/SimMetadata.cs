using KeplerSim.Core.Runtime;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Sim.Kernel;

/// <summary>
/// A node's SQLite database, in memory, kept alive across simulated crashes by a keeper connection. A crash
/// closes every connection the node opened, which rolls back any open transaction; committed ones stay.
/// </summary>
public sealed class SimMetadata : IMetadataConnectionFactory, IDisposable
{
    private static long s_instances;
    private readonly string _connectionString;
    private readonly SqliteConnection _keeper;
    private readonly List<SqliteConnection> _open = [];

    internal SimMetadata(string nodeName)
    {
        // The name only has to be unique in this process; it never reaches the trace.
        var unique = Interlocked.Increment(ref s_instances);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = $"kepler-sim-{unique}-{nodeName}",
            Mode = SqliteOpenMode.Memory,
            Cache = SqliteCacheMode.Shared,
            Pooling = false,
        }.ToString();
        _keeper = new SqliteConnection(_connectionString);
        _keeper.Open();
    }

    /// <inheritdoc />
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        _open.Add(connection);
        return connection;
    }

    /// <summary>Opens a connection for an outside observer (invariant checkers); not closed by crashes.</summary>
    public SqliteConnection OpenForInspection()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    internal void CloseConnections()
    {
        foreach (var connection in _open)
        {
            connection.Dispose();
        }

        _open.Clear();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        CloseConnections();
        _keeper.Dispose();
    }
}
