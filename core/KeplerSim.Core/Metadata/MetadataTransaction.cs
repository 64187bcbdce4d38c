using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Metadata;

/// <summary>
/// An open metadata write transaction. <see cref="Commit"/> makes its operations durable together; disposing it
/// uncommitted rolls them back.
/// </summary>
public sealed class MetadataTransaction : IDisposable
{
    private readonly MetadataStore _store;
    private SqliteTransaction? _inner;

    internal MetadataTransaction(MetadataStore store, SqliteTransaction inner)
    {
        _store = store;
        _inner = inner;
    }

    /// <summary>Commits every operation done since the transaction began.</summary>
    public void Commit()
    {
        var inner = _inner ?? throw new InvalidOperationException("the transaction already ended");
        _inner = null;
        try
        {
            inner.Commit();
            _store.Committed();
        }
        finally
        {
            _store.EndTransaction(inner);
            inner.Dispose();
        }
    }

    /// <summary>Rolls back unless <see cref="Commit"/> ran.</summary>
    public void Dispose()
    {
        var inner = _inner;
        if (inner is null)
        {
            return;
        }

        _inner = null;
        _store.EndTransaction(inner);
        // After a crash the host has closed the connection, which already rolled the transaction back.
        inner.Dispose();
    }
}
