using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Replication;

/// <summary>
/// Re-checks every local chunk against the current ring, at a bounded rate: a chunk this node owns is queued
/// for the other owners (they answer "have it" cheaply when they do), a chunk it no longer owns becomes a
/// hinted copy handed to the owners and dropped after they confirm. Runs after any ring change (re-replication
/// after a death, rebalancing after a join) and periodically. After a change, chunks that lost the most owners
/// are queued to go first.
/// </summary>
internal sealed class RepairScanner(IRepairContext node, NodeRuntime runtime, KeplerOptions options)
{
    private const int PageSize = 256;
    private const long UrgencyStepMicroseconds = 1_000;
    private HashRing? _previous;
    private bool _running;
    private bool _again;

    /// <summary>Whether a scan is running or requested.</summary>
    public bool IsScanning => _running;

    /// <summary>Chunks examined so far.</summary>
    public long Examined { get; private set; }

    public void Start()
    {
        Request(previous: null);
        runtime.Clock.Schedule(options.RepairScanIntervalMicroseconds, Periodic);
    }

    /// <summary>Scans again soon; <paramref name="previous"/> is the ring before a change (for urgency).</summary>
    public void Request(HashRing? previous)
    {
        _previous = previous ?? _previous;
        if (_running)
        {
            _again = true;
            return;
        }

        _running = true;
        runtime.Supervisor.Run("repair.scan", ScanAsync);
    }

    /// <summary>
    /// The periodic scan re-offers every chunk to its other owners, so a copy an owner lost without a ring change
    /// comes back. With one owner per chunk (one member, or a replication factor of 1) there is no other owner, and
    /// every ring change requests its own scan, so the periodic one is skipped: with 100,000 chunks it walked the
    /// whole store every minute on an idle node for nothing.
    /// </summary>
    private void Periodic()
    {
        if (node.Ring.OwnerCount > 1)
        {
            Request(previous: null);
        }

        runtime.Clock.Schedule(options.RepairScanIntervalMicroseconds, Periodic);
    }

    private async Task ScanAsync()
    {
        do
        {
            _again = false;
            string? after = null;
            while (node.Meta.ListChunks(after, PageSize) is { Count: > 0 } page)
            {
                node.Meta.Transaction(meta =>
                {
                    foreach (var chunk in page)
                    {
                        Reconcile(meta, chunk);
                    }
                });
                Examined += page.Count;
                after = page[^1].Id;
                node.KickReplication();
                await runtime.Clock.DelayAsync(page.Count * 1_000_000L / options.RepairScanChunksPerSecond);
            }

            _previous = null;
        }
        while (_again);

        _running = false;
    }

    private void Reconcile(MetadataStore meta, StoredChunk chunk)
    {
        var owners = node.Ring.OwnersOf(chunk.Id);
        var owned = owners.Contains(node.Self);
        var state = owned ? ChunkState.Durable : ChunkState.Hinted;
        if (chunk.State != state)
        {
            meta.UpsertChunk(chunk with { State = state });
        }

        var now = runtime.Clock.WallMicroseconds;
        var survivors = _previous is null
            ? owners.Count
            : _previous.OwnersOf(chunk.Id).Count(o => node.IsLive(o));
        foreach (var owner in owners)
        {
            if (owner != node.Self)
            {
                meta.Enqueue(chunk.Id, owner, now + survivors * UrgencyStepMicroseconds);
            }
        }
    }
}
