using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Runtime;

/// <summary>
/// Supplies the node's SQLite metadata database. The simulator gives each node an in-memory database that
/// survives a simulated crash (durable commits stay, open transactions roll back, and deferred commits not yet
/// made durable are lost, as in a power loss); a real node a WAL-mode file.
/// </summary>
public interface IMetadataConnectionFactory
{
    /// <summary>Opens a connection for this node incarnation. The host closes it when the node crashes.</summary>
    SqliteConnection Open();

    /// <summary>
    /// Called before a deferred commit (<c>synchronous=NORMAL</c>) when every earlier commit is durable: from here
    /// until <see cref="CommitsDurable"/>, a power loss may take the commits back. A real node needs nothing
    /// (SQLite's WAL does it); the simulator snapshots the durable state to fall back to on a crash.
    /// </summary>
    void DeferredCommitsBegin()
    {
    }

    /// <summary>Called after every durable commit: every commit so far is durable (cheap when nothing was deferred).
    /// </summary>
    void CommitsDurable()
    {
    }
}
