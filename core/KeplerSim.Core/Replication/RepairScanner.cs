using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Transfer;

namespace KeplerSim.Core.Replication;

/// <summary>
/// Re-checks every local chunk against the current ring, at a bounded rate: a chunk this node owns goes to the other
/// owners that lack it, a chunk it no longer owns becomes a hinted copy handed to the owners and dropped after they
/// confirm. Runs after any ring change (re-replication after a death, rebalancing after a join) and periodically.
/// After a change, chunks that lost the most owners are queued to go first. Each page of chunks is offered to each
/// other owner in one batched exchange (<see cref="OfferChunksRequest"/>, docs/PROTOCOL.md, "Batched repair
/// offers"); only what the owner lacks is queued and sent one by one, so a scan costs per page, not per chunk held.
/// A failed exchange (the owner down, partitioned, slow, or of a version without batched offers) queues the whole
/// page for that owner, as every scan did before batching: nothing depends on the exchange completing.
/// </summary>
internal sealed class RepairScanner(IRepairContext node, TransferClient transfers, NodeRuntime runtime,
    KeplerOptions options)
{
    private const int PageSize = OfferChunksRequest.ChunksMax;
    private const long UrgencyStepMicroseconds = 1_000;

    /// <summary>
    /// Owners a page is offered to at once. In a large cluster a page's chunks have many owners (about 2 × 256 / n
    /// chunks each at RF 3): offering to all of them at once opened a connection to each.
    /// </summary>
    private const int OffersInFlightMax = 8;

    /// <summary>Owners that broke a batched offer's protocol during this pass: offered one by one until the next.
    /// </summary>
    private readonly SortedSet<NodeId> _singleOffers = [];
    private HashRing? _previous;
    private bool _running;
    private bool _again;
    private bool _batched;

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
            _singleOffers.Clear();
            // The buggify site keeps the one-by-one path (every pair queued) exercised in simulated runs.
            _batched = OffersPerExchange() > 0 && !runtime.Buggify.Hit("repair.single_offers");
            string? after = null;
            while (node.Meta.ListChunks(after, PageSize) is { Count: > 0 } page)
            {
                var offers = new SortedDictionary<NodeId, List<Offer>>();
                node.Meta.Transaction(meta =>
                {
                    foreach (var chunk in page)
                    {
                        Reconcile(meta, chunk, offers);
                    }
                });
                await OfferAsync(offers);
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

    /// <summary>
    /// Sets the chunk's state from the ring, and, if a file version lists it, for each other owner queues it, pulls
    /// its existing entry forward, or adds it to that owner's batched offer.
    /// </summary>
    private void Reconcile(MetadataStore meta, StoredChunk chunk, SortedDictionary<NodeId, List<Offer>> offers)
    {
        var owners = node.Ring.OwnersOf(chunk.Id);
        var owned = owners.Contains(node.Self);
        var state = owned ? ChunkState.Durable : ChunkState.Hinted;
        if (chunk.State != state)
        {
            meta.UpsertChunk(chunk with { State = state });
        }

        if (node.IsOwnedGarbage(meta, chunk.Id))
        {
            // An owner does not repair garbage: each owner's copy waits out its own gc grace where it is. Offering
            // it handed a copy another owner had just collected straight back to it, with a fresh grace, and the
            // owners collected and re-sent each other's garbage for as long as their gc runs fell apart (a scan
            // between one owner's collection and the next's: scenarios/regressions/gc-repair-ping-pong.yaml). What
            // is still offered (a write in flight here, a hinted copy): IGarbageRule.IsOwnedGarbage.
            return;
        }

        var now = runtime.Clock.WallMicroseconds;
        var survivors = _previous is null
            ? owners.Count
            : _previous.OwnersOf(chunk.Id).Count(o => node.IsLive(o));
        var due = now + survivors * UrgencyStepMicroseconds;
        foreach (var owner in owners)
        {
            if (owner == node.Self)
            {
                continue;
            }

            if (!_batched || !node.IsLive(owner) || _singleOffers.Contains(owner))
            {
                meta.Enqueue(chunk.Id, owner, due);
            }
            else if (!meta.Expedite(chunk.Id, owner, due))
            {
                // Not queued yet: ask first. An entry already queued (a write's, a retry's) is delivered as it was.
                if (!offers.TryGetValue(owner, out var list))
                {
                    offers[owner] = list = [];
                }

                list.Add(new Offer(chunk.Id, chunk.SizeBytes, due, Hinted: !owned));
            }
        }
    }

    /// <summary>
    /// Offers the page to its owners (<see cref="OffersInFlightMax"/> at a time), then queues what each lacks (in one
    /// durable commit) and lets a hinted copy every owner now confirmed become surplus.
    /// </summary>
    private async Task OfferAsync(SortedDictionary<NodeId, List<Offer>> offers)
    {
        if (offers.Count == 0)
        {
            return;
        }

        var owners = offers.Keys.ToList();
        var answers = new List<bool[]>(owners.Count);
        foreach (var group in owners.Chunk(OffersInFlightMax))
        {
            answers.AddRange(await Task.WhenAll(group.Select(owner => OfferToAsync(owner, offers[owner]))));
        }

        var confirmedHinted = new SortedSet<string>(StringComparer.Ordinal);
        node.Meta.Transaction(meta =>
        {
            for (var i = 0; i < owners.Count; i++)
            {
                var lacking = answers[i];
                var list = offers[owners[i]];
                for (var at = 0; at < list.Count; at++)
                {
                    if (lacking[at])
                    {
                        meta.Enqueue(list[at].ChunkId, owners[i], list[at].DueMicroseconds);
                    }
                    else if (list[at].Hinted)
                    {
                        confirmedHinted.Add(list[at].ChunkId);
                    }
                }
            }
        });
        foreach (var chunkId in confirmedHinted)
        {
            node.CopiesConfirmed(chunkId);
        }
    }

    /// <summary>Which of <paramref name="list"/> <paramref name="owner"/> lacks (all if it cannot say).</summary>
    private async Task<bool[]> OfferToAsync(NodeId owner, List<Offer> list)
    {
        var lacking = new bool[list.Count];
        var start = 0;
        foreach (var slice in list.Chunk(OffersPerExchange()))
        {
            var chunks = slice.Select(o => new ChunkOffer(o.ChunkId, o.SizeBytes)).ToArray();
            string? error = null;
            var count = chunks.Length;
            try
            {
                var positions = await transfers.OfferChunksAsync(owner, chunks);
                count = positions.Length;
                foreach (var position in positions)
                {
                    lacking[start + position] = true;
                }

                node.Metrics.RepairOffers++;
                node.Metrics.RepairChunksOffered += chunks.Length;
                node.Metrics.RepairChunksConfirmed += chunks.Length - positions.Length;
            }
            catch (Exception e) when (TransferChannel.IsTransferFailure(e))
            {
                // Queued one by one as before batching; a peer that broke the protocol (one of a version without
                // batched offers) is not asked again this pass.
                error = e.Message;
                Array.Fill(lacking, true, start, chunks.Length);
                node.Metrics.RepairOffersFailed++;
                if (e is ProtocolException)
                {
                    _singleOffers.Add(owner);
                }
            }

            runtime.Events.Publish(new RepairOffered(owner.Value, chunks.Length, count, error));
            start += chunks.Length;
        }

        return lacking;
    }

    /// <summary>Chunks one batched offer carries: as many as fit the stream's frame limit, at most a page.</summary>
    private int OffersPerExchange() => Math.Clamp(
        (runtime.Streams.MaxFrameBytes - OfferChunksRequest.OverheadBytesMax) / OfferChunksRequest.OfferBytesMax,
        0, OfferChunksRequest.ChunksMax);

    /// <summary>A chunk to offer one owner: its size, when its entry is due if the owner lacks it, whether hinted.
    /// </summary>
    private readonly record struct Offer(string ChunkId, long SizeBytes, long DueMicroseconds, bool Hinted);
}
