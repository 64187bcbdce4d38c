using System.Text.Json;
using System.Threading.Channels;
using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Membership;
using KeplerSim.Core.Node;
using KeplerSim.Node.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.Http;

internal sealed partial class Gateway
{
    /// <summary>Events buffered per /api/events subscriber; a slow reader loses the oldest.</summary>
    public const int EventBufferMax = 1024;

    private static readonly JsonSerializerOptions EventJson =
        new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private ReplicationProgress? _lastProgress;

    private void MapStatus(WebApplication app)
    {
        app.MapGet("/health", () => Results.Ok(new { status = "ok" }))
            .Doc("Health", "Liveness: the process answers (always open)").Returns(200, null);
        app.MapGet("/ready", () => _host.Node.Ready.IsCompletedSuccessfully
            ? Results.Ok(new { status = "ready" })
            : ApiErrors.ToResult(503, new ApiError("not_ready", _host.Node.Ready.IsFaulted
                ? "startup failed: " + _host.Node.Ready.Exception!.GetBaseException().Message
                : "the node is still recovering")))
            .Doc("Ready", "Readiness: recovery finished (always open)").Returns(200, null)
            .Errors((503, "not_ready: still recovering, or startup failed (the message says why)"));
        // /health and /ready stay open (load balancers and orchestrators probe them without a token).
        var config = _host.Config;
        app.MapGet("/api/status", Handler(StatusAsync)).Allow(config, ApiRole.Read)
            .Doc("Status", "This node: id, addresses, replication factor, queue depth, free disk").Returns(200, null)
            .Errors(Busy);
        app.MapGet("/api/members", Handler(() => Task.FromResult(Members()))).Allow(config, ApiRole.Read)
            .Doc("Members", "Every member this node knows, with its SWIM state and incarnation",
                "Each member: id, gossip and transfer addresses, state (alive, suspect, dead, left), incarnation, " +
                "inRing, self, and lastHeardSecondsAgo: seconds since this node last received anything from it " +
                "(a datagram, a push-pull, or an ack a relay passed on for it), on the node's monotonic clock; null " +
                "for this node itself, a member never heard from, and static (PEERS) membership.")
            .Returns(200, null)
            .Errors(Busy);
        app.MapDelete("/api/members/{id}", (HttpContext context, string id) => CallAsync(context,
            () => Task.FromResult(_host.Node.RemoveMember(new KeplerSim.Core.Runtime.NodeId(id))),
            status => Results.Ok(new { id, state = StateName(status) }))).Allow(config, ApiRole.Admin)
            .Doc("RemoveMember", "Remove a dead member for good (it stops counting towards N)").Returns(200, null)
            .Errors([(409, "member_not_removable: the member is alive, unknown, or membership is static"), .. Busy]);
        app.MapGet("/api/ring", Handler(() => Task.FromResult(Ring()))).Allow(config, ApiRole.Read)
            .Doc("Ring", "The ring: each member's share of replicas and of primaries").Returns(200, null)
            .Errors(Busy);
        app.MapGet("/api/replication", Handler(() => Task.FromResult(Replication()))).Allow(config, ApiRole.Read)
            .Doc("Replication", "Replication queue, repair progress (rate, ETA) and scrub counters").Returns(200, null)
            .Errors(Busy);
        // A Func rather than a RequestDelegate: a plain RequestDelegate endpoint is left out of the OpenAPI document.
        app.MapGet("/api/events", (Func<HttpContext, Task>)EventsAsync).Allow(config, ApiRole.Read)
            .Doc("Events", "Live events as server-sent events (event: kind, data: JSON)")
            .Returns(200, null, "text/event-stream");
        var metrics = MapMetrics(app);
        if (config.MetricsAuth == MetricsAuth.Read)
        {
            metrics.Allow(config, ApiRole.Read);
        }

        MapOperator(app, config);
        MapTestFaults(app, config);
        _host.Loop.Post(() => _host.Runtime.Events.Stream.Subscribe(e =>
        {
            if (e is ReplicationProgress progress)
            {
                _lastProgress = progress;
            }
        }));
    }

    /// <summary>A route handler returning <paramref name="work"/>'s result (run on the loop) as JSON.</summary>
    private Func<HttpContext, Task<IResult>> Handler(Func<Task<object>> work) =>
        context => CallAsync(context, work, s => Results.Ok(s));

    private async Task<object> StatusAsync()
    {
        var node = _host.Node;
        var config = _host.Config;
        var recovery = node.Recovery;
        return new
        {
            nodeId = node.Id.Value,
            ready = node.Ready.IsCompletedSuccessfully,
            version = typeof(Gateway).Assembly.GetName().Version?.ToString(),
            uptimeSeconds = (long)(DateTimeOffset.UtcNow - _host.StartedAt).TotalSeconds,
            http = Address.ToString(),
            gossip = _host.GossipAddress.ToString(),
            transfer = _host.TransferAddress.ToString(),
            dataDir = config.DataDir,
            seeds = config.Seeds.Select(s => s.ToString()).ToList(),
            membership = node.Membership is null ? "static (PEERS)" : "swim",
            members = node.Cluster.Members.Count,
            knownMembers = node.KnownMembers.Count,
            awaitingJoin = node.AwaitingJoin,
            replicationTarget = node.ReplicationTarget,
            replicationFactor = node.Ring.OwnerCount,
            replicationFactorRequested = config.ReplicationFactor,
            replication = new
            {
                factor = node.ReplicationFactor,
                version = node.ReplicationSetting?.Version ?? 0,
                origin = node.ReplicationSetting?.Origin,
                target = node.ReplicationTarget,
                underReplicatedChunks = node.Meta.CountQueuedChunks(),
            },
            chunkSizeBytes = config.ChunkSizeBytes,
            queueDepth = node.QueueDepth,
            chunksWritten = node.Store.ChunksWritten,
            freeBytes = await _host.Runtime.Disk.GetFreeBytesAsync(),
            recovery = recovery is null ? null : new
            {
                chunksVerified = recovery.ChunksVerified,
                tmpFilesRemoved = recovery.TmpFilesRemoved.Count,
                chunksDeferred = recovery.Deferred,
                chunksAwaitingVerification = node.ChunksAwaitingVerification,
            },
        };
    }

    /// <summary>
    /// Every member this node knows with its state: SWIM's view (alive, suspect, dead, left; dead members are
    /// remembered until reaped) when membership is dynamic, else the static PEERS members, all alive.
    /// <c>inRing</c> says whether the member currently owns data.
    /// </summary>
    private object Members()
    {
        var node = _host.Node;
        if (node.Membership is { } swim)
        {
            var now = _host.Runtime.Clock.MonotonicMicroseconds;
            return swim.Members.OrderBy(m => m.Id).Select(m => new
            {
                id = m.Id.Value,
                gossip = m.GossipAddress.ToString(),
                transfer = m.TransferAddress.ToString(),
                state = StateName(m.Status),
                incarnation = m.Incarnation,
                inRing = node.Cluster.Find(m.Id) is not null,
                self = m.Id == node.Id,
                lastHeardSecondsAgo = swim.LastHeardMicroseconds(m.Id) is { } heard
                    ? Math.Max(0, now - heard) / 1_000_000.0
                    : (double?)null,
            }).ToList();
        }

        return node.Cluster.Members.Select(m => new
        {
            id = m.Id.Value,
            gossip = m.GossipAddress.ToString(),
            transfer = m.TransferAddress.ToString(),
            state = "alive",
            incarnation = 0L,
            inRing = true,
            self = m.Id == node.Id,
            lastHeardSecondsAgo = (double?)null,
        }).ToList();
    }

    private static string StateName(MemberStatus status) => status switch
    {
        MemberStatus.Alive => "alive",
        MemberStatus.Suspect => "suspect",
        MemberStatus.Dead => "dead",
        _ => "left",
    };

    /// <summary>Members by state (alive, suspect, dead, left), every state listed.</summary>
    private IReadOnlyList<(string State, long Count)> MembersByState()
    {
        var node = _host.Node;
        var states = Enum.GetValues<MemberStatus>();
        return node.Membership is { } swim
            ? states.Select(s => (StateName(s), (long)swim.Members.Count(m => m.Status == s))).ToList()
            : states.Select(s => (StateName(s), s == MemberStatus.Alive ? node.Cluster.Members.Count : 0L)).ToList();
    }

    private object Ring()
    {
        var ring = _host.Node.Ring;
        var shares = ring.Shares();
        var primary = ring.PrimaryShares();
        return new
        {
            replicationFactor = ring.OwnerCount,
            virtualNodes = ring.VirtualNodeCount,
            nodes = ring.Nodes.Select(n => new
            {
                id = n.Value,
                share = shares.GetValueOrDefault(n),
                primaryShare = primary.GetValueOrDefault(n),
            }).ToList(),
        };
    }

    private object Replication()
    {
        var node = _host.Node;
        var scrub = node.ScrubCounts;
        return new
        {
            queueDepth = node.QueueDepth,
            chunksReplicated = node.Metrics.ChunksReplicated,
            replicationFailures = node.Metrics.ReplicationFailures,
            throttledBytes = node.ThrottledBytes,
            scrub = new { verified = scrub.Verified, found = scrub.Found, repaired = scrub.Repaired },
            progress = _lastProgress,
            underReplicated = node.Meta.CountQueuedChunks(),
            queueBytes = node.Meta.QueueBytes(),
            chunksStored = node.Meta.CountChunks(),
        };
    }

    /// <summary>
    /// Streams the node's events to one subscriber. Each carries an <c>id:</c>, its number among the events
    /// published since this subscription began (1, 2, ...): the buffer drops the oldest for a slow reader, and a gap
    /// in the ids tells the reader how many it lost (real mode's event checkers then report a check incomplete).
    /// </summary>
    private async Task EventsAsync(HttpContext context)
    {
        var channel = Channel.CreateBounded<(long Id, KeplerEvent Event)>(
            new BoundedChannelOptions(EventBufferMax) { FullMode = BoundedChannelFullMode.DropOldest });
        var published = 0L; // Counted on the loop, which runs every observer.
        var subscription = await _host.Loop.InvokeAsync(() =>
            _host.Runtime.Events.Stream.Subscribe(e => channel.Writer.TryWrite((++published, e))));
        try
        {
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            await context.Response.WriteAsync(": connected\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await foreach (var (id, e) in channel.Reader.ReadAllAsync(context.RequestAborted))
            {
                var json = JsonSerializer.Serialize(new { kind = e.Kind, data = (object)e }, EventJson);
                await context.Response.WriteAsync(
                    $"id: {id.ToString(System.Globalization.CultureInfo.InvariantCulture)}\nevent: {e.Kind}\n" +
                    $"data: {json}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            // The subscriber went away.
        }
        finally
        {
            _host.Loop.Post(subscription.Dispose);
        }
    }
}
