using KeplerSim.Core;
using KeplerSim.Core.Runtime;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Sim.Kernel;

/// <summary>
/// A node's SQLite database, in memory, kept alive across simulated crashes by a keeper connection. A crash
/// closes every connection the node opened, which rolls back any open transaction; durable commits stay. A crash
/// is a power loss: deferred commits (<c>synchronous=NORMAL</c>) that no durable commit has covered yet are lost
/// too, by restoring the snapshot taken when the first of them began.
/// </summary>
public sealed class SimMetadata : IMetadataConnectionFactory, IDisposable
{
    private static long s_instances;
    private readonly string _connectionString;
    private readonly SqliteConnection _keeper;
    private readonly List<SqliteConnection> _open = [];

    // The database as it was before the first deferred commit not yet covered by a durable one; null when every
    // commit is durable.
    private SqliteConnection? _durableSnapshot;

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
        _keeper = Connect(_connectionString);
    }

    /// <summary>
    /// Opens a connection without SQLite's lookaside allocator: each connection otherwise reserves 48 KB up front
    /// for small allocations, and a simulated node holds three or four connections (1000 nodes: ~0.2 GB of the
    /// process for nothing but a faster malloc). The allocator changes no result.
    /// </summary>
    private static SqliteConnection Connect(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        var code = SQLitePCL.raw.sqlite3_db_config(connection.Handle, SQLitePCL.raw.SQLITE_DBCONFIG_LOOKASIDE,
            IntPtr.Zero, 0, 0);
        Invariant.That(code == SQLitePCL.raw.SQLITE_OK, "a fresh connection's lookaside can be turned off");
        return connection;
    }

    /// <inheritdoc />
    public SqliteConnection Open()
    {
        var connection = Connect(_connectionString);
        _open.Add(connection);
        return connection;
    }

    /// <summary>Opens a connection for an outside observer (invariant checkers); not closed by crashes.</summary>
    public SqliteConnection OpenForInspection() => Connect(_connectionString);

    /// <summary>
    /// The one connection of outside observers (invariant checkers), opened at the first use and kept (opening a
    /// connection parses the schema: checkers ask often). Not closed by crashes; callers run read-only
    /// statements in autocommit and dispose their commands and readers, never the connection.
    /// </summary>
    public SqliteConnection Inspection
    {
        get
        {
            return _inspection ??= Connect(_connectionString);
        }
    }

    private SqliteConnection? _inspection;

    /// <summary>Deferred commits that a crash now would take back (for tests).</summary>
    public bool HasDeferredCommitsAtRisk => _durableSnapshot is not null;

    /// <inheritdoc />
    public void DeferredCommitsBegin()
    {
        if (_durableSnapshot is not null)
        {
            return; // The snapshot of the last durable state is already there.
        }

        var snapshot = Connect("Data Source=:memory:;Pooling=False");
        _keeper.BackupDatabase(snapshot);
        _durableSnapshot = snapshot;
    }

    /// <inheritdoc />
    public void CommitsDurable()
    {
        _durableSnapshot?.Dispose();
        _durableSnapshot = null;
    }

    internal void CloseConnections()
    {
        foreach (var connection in _open)
        {
            connection.Dispose();
        }

        _open.Clear();
        if (_durableSnapshot is not null)
        {
            // Power loss: the deferred commits never reached the disk.
            _durableSnapshot.BackupDatabase(_keeper);
            CommitsDurable();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        CloseConnections();
        _inspection?.Dispose();
        _keeper.Dispose();
    }
}
