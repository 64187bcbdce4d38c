using System.Globalization;
using KeplerSim.Node.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.Http;

internal sealed partial class Gateway
{
    /// <summary>Most chunks one under-replicated page lists.</summary>
    private const int UnderReplicatedLimitMax = 256;

    /// <summary>The operator's endpoints: the under-replicated report and an integrity check on demand.</summary>
    private void MapOperator(WebApplication app, NodeConfig config)
    {
        app.MapGet("/api/under-replicated", UnderReplicated).Allow(config, ApiRole.Read)
            .Doc("UnderReplicated", "Chunks this node still has to copy: copies known and owners missing, paged",
                "`limit` 1..256 (default 100) and the cursor `after` (the previous page's `next`).")
            .Returns(200, null)
            .Query("limit", "chunks per page, 1..256 (default 100)").Query("after", "the previous page's next")
            .Errors([(400, "invalid_limit: not 1..256"), .. Busy]);
        app.MapPost("/api/integrity-check", IntegrityCheck).Allow(config, ApiRole.Admin)
            .Doc("IntegrityCheck", "Read and hash every local chunk now, replacing bad ones from replicas")
            .Returns(200, typeof(KeplerSim.Core.Node.IntegrityReport))
            .Errors(Busy);
        app.MapPost("/api/drain", Drain).Allow(config, ApiRole.Admin)
            .Doc("Drain", "Decommission this node: leave, hand every chunk off, report, exit",
                "Waits up to `timeout_ms` (default 10 minutes) for the hand-off.")
            .Returns(200, null)
            .Query("timeout_ms", "how long to wait for the hand-off, 1..86400000 (default 600000)")
            .Errors([(400, "invalid_timeout: timeout_ms is not 1..86400000"),
                (409, "draining: a drain is already running on this node"), .. Busy]);
        app.MapGet("/api/replication-factor", Handler(() => Task.FromResult(ReplicationFactorState())))
            .Allow(config, ApiRole.Read)
            .Doc("GetReplicationFactor", "The replication factor in force on this node, where it comes from, and N")
            .Returns(200, null)
            .Errors(Busy);
        app.MapPut("/api/replication-factor", SetReplicationFactor).Allow(config, ApiRole.Admin)
            .Doc("SetReplicationFactor", "Change the replication factor cluster-wide (spread by gossip)",
                "The new N as `?value=N` or a body `{\"replicationFactor\": N}` (or just `N`), 1..8.")
            .Returns(200, null)
            .Query("value", "the new replication factor, 1..8")
            .Errors([(400, "invalid_replication_factor: not an integer 1..8, or a malformed body"),
                (409, "replication_factor_static: static membership (PEERS) cannot spread a change"), .. Busy]);
    }

    /// <summary>Longest body <c>PUT /api/replication-factor</c> reads.</summary>
    private const int ReplicationFactorBodyBytesMax = 1024;

    /// <summary>
    /// Changes the replication factor cluster-wide (clusterF's <c>PUT /api/replication-factor</c>): the new N in
    /// the query (<c>?value=2</c>) or the body (<c>{"replicationFactor": 2}</c>, or just <c>2</c>). Answers the
    /// state this node holds now; SWIM spreads the change to the others.
    /// </summary>
    private Func<HttpContext, Task<IResult>> SetReplicationFactor => async context =>
    {
        int value;
        try
        {
            value = await ReadReplicationFactorAsync(context.Request);
        }
        catch (BadRequestException e)
        {
            return Fail(context, e);
        }

        return await CallAsync(context, async () =>
        {
            await _host.Node.SetReplicationFactorAsync(value);
            return ReplicationFactorState();
        }, state => Results.Ok(state));
    };

    private static async Task<int> ReadReplicationFactorAsync(HttpRequest request)
    {
        var max = KeplerSim.Core.Node.KeplerOptions.ReplicationFactorMax;
        string? text = request.Query["value"];
        if (text is null)
        {
            var body = await ReadSmallBodyAsync(request);
            text = body.TrimStart().StartsWith('{') ? ReplicationFactorField(body, max) : body.Trim();
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            && value >= 1 && value <= max
            ? value
            : throw new BadRequestException("invalid_replication_factor", string.IsNullOrEmpty(text)
                ? $"give the new replication factor as ?value=N or a body {{\"replicationFactor\": N}}, N 1..{max}"
                : $"replication factor '{text}' is invalid: expected an integer 1..{max}");
    }

    private static async Task<string> ReadSmallBodyAsync(HttpRequest request)
    {
        if (request.ContentLength > ReplicationFactorBodyBytesMax)
        {
            throw new BadRequestException("invalid_replication_factor",
                $"the body is larger than {ReplicationFactorBodyBytesMax} bytes");
        }

        var buffer = new byte[ReplicationFactorBodyBytesMax + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length))) > 0)
        {
            length += read;
        }

        return length > ReplicationFactorBodyBytesMax
            ? throw new BadRequestException("invalid_replication_factor",
                $"the body is larger than {ReplicationFactorBodyBytesMax} bytes")
            : System.Text.Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>The number in <c>{"replicationFactor": N}</c> as text (so one parser judges its range).</summary>
    private static string ReplicationFactorField(string json, int max)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            return document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && document.RootElement.TryGetProperty("replicationFactor", out var field)
                && field.ValueKind == System.Text.Json.JsonValueKind.Number
                ? field.GetRawText()
                : throw new BadRequestException("invalid_replication_factor",
                    $"expected {{\"replicationFactor\": N}} with N an integer 1..{max}");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new BadRequestException("invalid_replication_factor", "the body is not JSON: " + e.Message);
        }
    }

    /// <summary>The replication factor in force on this node, where it comes from, and N.</summary>
    private object ReplicationFactorState()
    {
        var node = _host.Node;
        var setting = node.ReplicationSetting;
        return new
        {
            replicationFactor = node.ReplicationFactor,
            configured = _host.Config.ReplicationFactor,
            version = setting?.Version ?? 0,
            origin = setting?.Origin,
            replicationTarget = node.ReplicationTarget,
            knownMembers = node.KnownMembers.Count,
            ringOwners = node.Ring.OwnerCount,
        };
    }

    /// <summary>
    /// Decommissions this node: leaves, hands every local chunk off (waits up to <c>timeout_ms</c>, default
    /// 10 minutes), answers the report, then the process exits. 409 <c>draining</c> while a drain runs.
    /// </summary>
    private Func<HttpContext, Task<IResult>> Drain => async context =>
    {
        try
        {
            var timeoutMs = ParseDrainTimeout(context.Request.Query["timeout_ms"]);
            if (!_host.Node.Ready.IsCompletedSuccessfully)
            {
                throw new NotReadyException();
            }

            var report = await _host.DrainAsync(timeoutMs)
                ?? throw new ConflictException("draining", "a drain is already running on this node");
            return Results.Ok(new
            {
                report.LocalChunks,
                report.LiveMembers,
                report.QueueLeft,
                Complete = report.QueueLeft == 0,
            });
        }
        catch (Exception e)
        {
            return Fail(context, e);
        }
    };

    private static long ParseDrainTimeout(string? text)
    {
        const long Max = 24L * 3600 * 1000;
        if (string.IsNullOrEmpty(text))
        {
            return 600_000;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms is >= 1 and <= Max
            ? ms
            : throw new BadRequestException("invalid_timeout", $"timeout_ms '{text}' is invalid: expected 1..{Max}");
    }

    private Func<HttpContext, Task<IResult>> UnderReplicated => context =>
    {
        string? after = context.Request.Query["after"];
        int limit;
        try
        {
            limit = ParseLimit(context.Request.Query["limit"], fallback: 100, max: UnderReplicatedLimitMax);
        }
        catch (BadRequestException e)
        {
            return Task.FromResult(Fail(context, e));
        }

        return CallAsync(context, () => _host.Node.UnderReplicatedAsync(after, limit), page => Results.Ok(new
        {
            page.ReplicationTarget,
            page.Total,
            page.ReferencedChunks,
            page.Chunks,
            page.Next,
            Truncated = page.Next is not null,
        }));
    };

    private Func<HttpContext, Task<IResult>> IntegrityCheck => context =>
        CallAsync(context, () => _host.Node.CheckIntegrityAsync(), report => Results.Ok(report));
}
