using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.Http;

internal sealed partial class Gateway
{
    /// <summary>Most chunks one under-replicated page lists.</summary>
    private const int UnderReplicatedLimitMax = 256;

    /// <summary>The operator's endpoints: the under-replicated report and an integrity check on demand.</summary>
    private void MapOperator(WebApplication app)
    {
        app.MapGet("/api/under-replicated", UnderReplicated);
        app.MapPost("/api/integrity-check", IntegrityCheck);
    }

    private Func<HttpContext, Task<IResult>> UnderReplicated => context =>
    {
        string? after = context.Request.Query["after"];
        int limit;
        try
        {
            limit = ParseUnderReplicatedLimit(context.Request.Query["limit"]);
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

    private static int ParseUnderReplicatedLimit(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return 100;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
            && limit is >= 1 and <= UnderReplicatedLimitMax
            ? limit
            : throw new BadRequestException("invalid_limit",
                $"limit '{text}' is invalid: expected 1..{UnderReplicatedLimitMax}");
    }
}
