using System.Data;
using KeplerSim.Core.Runtime;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Metadata;

/// <summary>
/// The node's SQLite metadata: chunks on disk, file versions, peers and the replication queue. Runs on the node's
/// single logical thread over one connection the host supplies; the host decides the journal mode. Hot paths use
/// prepared statements. Several decisions are made atomic with <see cref="BeginTransaction"/> or
/// <see cref="Transaction(Action{MetadataStore})"/>; every single operation is atomic on its own. Every list is
/// returned in an explicit ORDER BY so enumeration order is the same in every process.
/// </summary>
public sealed partial class MetadataStore : IDisposable
{
    /// <summary>Longest id (chunk, file, node, request, meta key) accepted, in UTF-16 characters.</summary>
    public const int IdLengthMax = 256;

    /// <summary>Longest file path or prefix accepted, in UTF-16 characters.</summary>
    public const int PathLengthMax = 4096;

    /// <summary>Most rows one page of a list query returns.</summary>
    public const int ListBatchMax = 1024;

    /// <summary>Most replication queue entries one due-scan returns.</summary>
    public const int QueueBatchMax = 256;

    /// <summary>Most chunks one file version may list (4 TiB at the default 4 MiB chunk size).</summary>
    public const int FileChunkCountMax = 1 << 20;

    /// <summary>Longest value accepted in the <c>meta</c> table, in UTF-16 characters.</summary>
    public const int MetaValueLengthMax = 64 * 1024;

    private const string OperationSavepoint = "kepler_operation";

    private readonly SqliteConnection _connection;
    private readonly bool _ownsConnection;
    private readonly IMetadataConnectionFactory? _factory;
    private readonly List<Statement> _statements = [];
    private readonly MetaSql _metaSql;
    private readonly ChunkSql _chunkSql;
    private readonly FileSql _fileSql;
    private readonly QueueSql _queueSql;
    private readonly PeerSql _peerSql;
    /// <summary>The <c>meta</c> key a durability barrier writes when no durable commit has happened since.</summary>
    private const string DurabilityBarrierKey = "durability_barrier";

    private SqliteTransaction? _transaction;
    private bool _disposed;

    // Commits counted in this incarnation, and the count at the last durable one: a durable commit fsyncs the
    // WAL, which holds every earlier commit too (or a checkpoint already synced them into the database file).
    private long _commitSequence;
    private long _durableThrough;
    private bool _deferring;

    /// <summary>
    /// Opens the store over an open connection, which the caller keeps owning: sets the per-connection pragmas and
    /// migrates the schema to <see cref="LatestSchemaVersion"/>.
    /// </summary>
    /// <exception cref="MetadataSchemaException">The database is newer than this build, or not ours.</exception>
    public MetadataStore(SqliteConnection connection)
        : this(connection, ownsConnection: false, factory: null)
    {
    }

    private MetadataStore(SqliteConnection connection, bool ownsConnection, IMetadataConnectionFactory? factory)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection.State != ConnectionState.Open)
        {
            throw new ArgumentException("the metadata connection must be open", nameof(connection));
        }

        _connection = connection;
        _ownsConnection = ownsConnection;
        _factory = factory;
        ApplyPragmas(connection);
        MetadataSchema.Migrate(connection, MetadataSchema.Migrations);
        _metaSql = new MetaSql(Prepare);
        _chunkSql = new ChunkSql(Prepare);
        _fileSql = new FileSql(Prepare);
        _queueSql = new QueueSql(Prepare);
        _peerSql = new PeerSql(Prepare);
    }

    /// <summary>The schema version this build reads and writes.</summary>
    public static int LatestSchemaVersion => MetadataSchema.LatestVersion;

    /// <summary>True while a transaction from <see cref="BeginTransaction"/> is open.</summary>
    public bool InTransaction => _transaction is not null;

    /// <summary>Opens a connection from the host's factory and a store that owns (and disposes) it.</summary>
    public static MetadataStore Open(IMetadataConnectionFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var connection = factory.Open();
        try
        {
            return new MetadataStore(connection, ownsConnection: true, factory);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a write transaction. Commit it to make every operation since durable together; disposing it without
    /// committing (or losing the connection in a crash) rolls all of them back. Transactions do not nest.
    /// </summary>
    public MetadataTransaction BeginTransaction()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_transaction is not null)
        {
            throw new InvalidOperationException("a metadata transaction is already open; transactions do not nest");
        }

        // IMMEDIATE: take the write lock now, so a commit never fails on a lock upgrade halfway through.
        _transaction = _connection.BeginTransaction(deferred: false);
        return new MetadataTransaction(this, _transaction);
    }

    /// <summary>Runs <paramref name="work"/> in one transaction: commits if it returns, rolls back if it throws.
    /// </summary>
    public void Transaction(Action<MetadataStore> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var transaction = BeginTransaction();
        work(this);
        transaction.Commit();
    }

    /// <summary>Runs <paramref name="work"/> in one transaction and returns its result; rolls back if it throws.
    /// </summary>
    public T Transaction<T>(Func<MetadataStore, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var transaction = BeginTransaction();
        var result = work(this);
        transaction.Commit();
        return result;
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction whose commit does not wait for the disk
    /// (<c>synchronous=NORMAL</c>: the WAL is written but not fsync'd). It survives a crash of the process (the
    /// data is in the OS page cache) but not yet a power loss: nothing that depends on it may be acknowledged
    /// before <see cref="MakeDurable"/> with the returned sequence. Several deferred commits then share one fsync.
    /// </summary>
    public long TransactionDeferred(Action<MetadataStore> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (IsDurableThrough(_commitSequence))
        {
            _factory?.DeferredCommitsBegin();
        }

        SetSynchronous("NORMAL");
        _deferring = true;
        try
        {
            Transaction(work);
        }
        finally
        {
            _deferring = false;
            SetSynchronous("FULL");
        }

        return _commitSequence;
    }

    /// <summary>
    /// Makes every commit up to <paramref name="commitSequence"/> (from <see cref="TransactionDeferred"/>) durable:
    /// free when a durable commit has happened since, else one durable commit (one WAL fsync) of a marker row.
    /// </summary>
    public void MakeDurable(long commitSequence)
    {
        if (!IsDurableThrough(commitSequence))
        {
            Transaction(meta => meta.SetMeta(DurabilityBarrierKey,
                commitSequence.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        Invariant.That(IsDurableThrough(commitSequence), "a durable commit covers every earlier commit");
    }

    /// <summary>Transactions committed through this store so far (deferred or durable).</summary>
    public long CommitSequence => _commitSequence;

    /// <summary>Whether every commit up to <paramref name="commitSequence"/> is durable.</summary>
    public bool IsDurableThrough(long commitSequence) => _durableThrough >= commitSequence;

    /// <summary>Reads a value from the <c>meta</c> table, or null when the key is absent.</summary>
    public string? GetMeta(string key)
    {
        Check.Id(key, nameof(key));
        return (string?)_metaSql.Get.Scalar(key);
    }

    /// <summary>Writes a value to the <c>meta</c> table, replacing any previous one.</summary>
    public void SetMeta(string key, string value)
    {
        Check.Id(key, nameof(key));
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > MetaValueLengthMax)
        {
            throw new ArgumentException($"is longer than {MetaValueLengthMax} characters", nameof(value));
        }

        _metaSql.Set.NonQuery(key, value);
    }

    /// <summary>Releases the prepared statements, and the connection when the store opened it.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        // An open transaction stays with its MetadataTransaction, whose disposal rolls it back.
        _disposed = true;
        foreach (var statement in _statements)
        {
            statement.Dispose();
        }

        if (_ownsConnection)
        {
            _connection.Dispose();
        }
    }

    /// <summary>Counts a committed transaction; a commit with <c>synchronous=FULL</c> is durable with all before it.
    /// </summary>
    internal void Committed()
    {
        _commitSequence++;
        if (!_deferring)
        {
            _durableThrough = _commitSequence;
            _factory?.CommitsDurable();
        }
    }

    internal void EndTransaction(SqliteTransaction transaction)
    {
        Invariant.That(ReferenceEquals(_transaction, transaction), "only the open transaction ends");
        _transaction = null;
    }

    private static void ApplyPragmas(SqliteConnection connection)
    {
        // Per-connection settings. foreign_keys keeps chunk_refs tied to files; synchronous=FULL makes a commit
        // durable before it returns (an acknowledged write must survive power loss). journal_mode is the host's.
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;";
        command.ExecuteNonQuery();
    }

    private void SetSynchronous(string level)
    {
        Invariant.That(_transaction is null, "synchronous changes only between transactions");
        using var command = _connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous = " + level + ";";
        command.ExecuteNonQuery();
    }

    private Statement Prepare(string sql, string[] parameterNames)
    {
        // A write outside a transaction commits on its own, with synchronous=FULL: it is durable, and so is every
        // deferred commit before it. Not counting it let the simulator's power loss undo a row deletion whose file
        // was already deleted (chaos seed 8nNcNZTyiIR1: a surplus copy's row came back without its file).
        var statement = new Statement(_connection, () => _transaction, Committed, sql, parameterNames);
        _statements.Add(statement);
        return statement;
    }

    /// <summary>
    /// Makes a multi-statement operation all-or-nothing: its own transaction when none is open, otherwise a
    /// savepoint inside the caller's, so a failure halfway never leaves part of it in the caller's transaction.
    /// </summary>
    private void Atomically(Action work)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_transaction is null)
        {
            using var transaction = BeginTransaction();
            work();
            transaction.Commit();
            return;
        }

        _transaction.Save(OperationSavepoint);
        try
        {
            work();
        }
        catch
        {
            _transaction.Rollback(OperationSavepoint);
            _transaction.Release(OperationSavepoint);
            throw;
        }

        _transaction.Release(OperationSavepoint);
    }

    private sealed class MetaSql(Func<string, string[], Statement> prepare)
    {
        public Statement Get { get; } = prepare("SELECT value FROM meta WHERE key = $key", ["$key"]);

        public Statement Set { get; } = prepare(
            "INSERT INTO meta(key, value) VALUES ($key, $value) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            ["$key", "$value"]);
    }
}
