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
        app.MapGet("/api/under-replicated", UnderReplicated).Allow(config, ApiRole.Read);
        app.MapPost("/api/integrity-check", IntegrityCheck).Allow(config, ApiRole.Admin);
        app.MapPost("/api/drain", Drain).Allow(config, ApiRole.Admin);
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
