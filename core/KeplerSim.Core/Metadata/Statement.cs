using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Metadata;

/// <summary>
/// One prepared SQL statement, compiled once and rebound per call. Values bind positionally to the parameter names
/// given at construction. Each call joins the store's open transaction, if any; a write outside one is its own
/// (durable) commit and reports it through <c>autocommitted</c>.
/// </summary>
internal sealed class Statement : IDisposable
{
    private readonly SqliteCommand _command;
    private readonly SqliteParameter[] _parameters;
    private readonly Func<SqliteTransaction?> _transaction;
    private readonly Action _autocommitted;

    public Statement(SqliteConnection connection, Func<SqliteTransaction?> transaction, Action autocommitted,
        string sql, params string[] parameterNames)
    {
        _transaction = transaction;
        _autocommitted = autocommitted;
        _command = connection.CreateCommand();
        _command.CommandText = sql;
        _parameters = new SqliteParameter[parameterNames.Length];
        for (var i = 0; i < parameterNames.Length; i++)
        {
            // No fixed type: each value binds with its own storage class (TEXT, INTEGER, NULL).
            _parameters[i] = _command.Parameters.AddWithValue(parameterNames[i], DBNull.Value);
        }

        // Not prepared here: SqliteCommand compiles the statement at its first execution and keeps it for every
        // later one. A store holds ~50 statements and a node uses fewer than half of them in most runs; compiling
        // all at open cost ~250 KB of SQLite memory per node (a quarter of a simulated node at 1000 nodes).
    }

    public int NonQuery(params object?[] values)
    {
        Bind(values);
        var autocommit = _transaction() is null;
        var changed = _command.ExecuteNonQuery();
        if (autocommit)
        {
            _autocommitted();
        }

        return changed;
    }

    public object? Scalar(params object?[] values)
    {
        Bind(values);
        var result = _command.ExecuteScalar();
        return result is DBNull ? null : result;
    }

    public long ScalarInt64(params object?[] values)
    {
        var result = Scalar(values);
        Invariant.That(result is long, "an integer query returned an integer");
        return (long)result!;
    }

    public T? Single<T>(Func<SqliteDataReader, T> map, params object?[] values)
        where T : class
    {
        Bind(values);
        using var reader = _command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var row = map(reader);
        Invariant.That(!reader.Read(), "a single-row query returned one row");
        return row;
    }

    public List<T> Rows<T>(Func<SqliteDataReader, T> map, int limit, params object?[] values)
    {
        Bind(values);
        var rows = new List<T>();
        using var reader = _command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }

        Invariant.That(rows.Count <= limit, "a list query returned no more rows than its limit");
        return rows;
    }

    public void Dispose() => _command.Dispose();

    private void Bind(object?[] values)
    {
        Invariant.That(values.Length == _parameters.Length, "a statement is bound with one value per parameter");
        _command.Transaction = _transaction();
        for (var i = 0; i < values.Length; i++)
        {
            _parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }
}
