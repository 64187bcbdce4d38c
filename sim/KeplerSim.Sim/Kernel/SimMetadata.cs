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
        if (_trackers.Count > 0)
        {
            Hook(connection);
        }

        return connection;
    }

    private readonly List<RowChanges> _trackers = [];
    private SQLitePCL.delegate_update? _onUpdate;

    /// <summary>
    /// Starts noting which rows of <paramref name="table"/> the node's connections change (an observer's delta: a
    /// checker reads those rows instead of the whole table). Observation only: an update hook on each of the node's
    /// connections, which changes no statement's result.
    /// </summary>
    public RowChanges Track(string table)
    {
        var tracker = new RowChanges(table);
        if (_trackers.Count == 0)
        {
            foreach (var connection in _open)
            {
                Hook(connection);
            }
        }

        _trackers.Add(tracker);
        return tracker;
    }

    private void Hook(SqliteConnection connection)
    {
        _onUpdate ??= (_, _, _, table, rowid) =>
        {
            foreach (var tracker in _trackers)
            {
                if (table.utf8_to_string() == tracker.Table)
                {
                    tracker.Rows.Add(rowid);
                }
            }
        };
        SQLitePCL.raw.sqlite3_update_hook(connection.Handle, _onUpdate, null);
    }

    private void AllRowsChanged()
    {
        foreach (var tracker in _trackers)
        {
            tracker.All = true;
        }
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
            AllRowsChanged(); // A restore fires no update hook.
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

/// <summary>
/// The rows of one table of a node's metadata that its connections changed (inserted, updated, deleted, or
/// changed in a transaction later rolled back) since the observer last cleared them (<see cref="SimMetadata.Track"/>).
/// </summary>
public sealed class RowChanges
{
    internal RowChanges(string table) => Table = table;

    /// <summary>The table watched.</summary>
    public string Table { get; }

    /// <summary>Row ids changed since <see cref="Clear"/>.</summary>
    public HashSet<long> Rows { get; } = [];

    /// <summary>Whether rows may have changed without being listed (a new tracker, or the database was restored from
    /// its durable snapshot at a power loss): the observer must read the whole table.</summary>
    public bool All { get; internal set; } = true;

    /// <summary>The observer has read every changed row.</summary>
    public void Clear()
    {
        Rows.Clear();
        All = false;
    }
}
