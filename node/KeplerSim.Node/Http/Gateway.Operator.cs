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
