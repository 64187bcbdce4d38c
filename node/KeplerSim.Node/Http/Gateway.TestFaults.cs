using System.Globalization;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.Http;

internal sealed partial class Gateway
{
    private const string InvalidTestFault = "invalid_test_fault";

    /// <summary>
    /// The test-only fault endpoints (KEPLER_TEST_FAULTS; never mapped otherwise): a scenario's <c>clock</c> and
    /// <c>disk</c> steps against a real process. Admin role, as every endpoint that changes the node.
    /// </summary>
    private void MapTestFaults(WebApplication app, NodeConfig config)
    {
        if (config.TestFaults is null)
        {
            return;
        }

        app.MapPut("/api/test/clock", (Func<HttpContext, IResult>)SetTestClock).Allow(config, ApiRole.Admin)
            .Doc("SetTestClock", "Test only (KEPLER_TEST_FAULTS): offset, jump or drift this node's clock",
                "`jump_us` moves the wall clock; `skew_us` and `drift_ppm` set offset and rate outright.")
            .Returns(200, null)
            .Query("jump_us", "microseconds to move the wall clock by").Query("skew_us", "the wall clock's offset")
            .Query("drift_ppm", "the rate error in parts per million")
            .Errors([(400, "invalid_test_fault: a value is not a number or out of range")]);
        app.MapPut("/api/test/disk", (Func<HttpContext, IResult>)SetTestDisk).Allow(config, ApiRole.Admin)
            .Doc("SetTestDisk", "Test only (KEPLER_TEST_FAULTS): the disk quota in bytes, at runtime")
            .Returns(200, null)
            .Query("capacity_bytes", "the new quota; writes beyond it fail as on a full disk")
            .Errors([(400, "invalid_test_fault: capacity_bytes missing, not an integer or negative")]);
    }

    /// <summary><c>PUT /api/test/clock?jump_us=&amp;skew_us=&amp;drift_ppm=</c>: the jump first, then skew and drift
    /// (each kept when not given), as the simulator's clock step; answers the clock's state.</summary>
    private IResult SetTestClock(HttpContext context)
    {
        var clock = _host.TestClock!;
        try
        {
            var query = context.Request.Query;
            var jump = Number(query["jump_us"], "jump_us", long.Parse);
            var skew = Number(query["skew_us"], "skew_us", long.Parse);
            var drift = Number(query["drift_ppm"], "drift_ppm", double.Parse);
            TestClock.Check(skew ?? 0, drift ?? 0);
            if (jump is { } delta)
            {
                clock.Jump(delta);
            }

            if (skew is not null || drift is not null)
            {
                clock.Set(skew ?? clock.SkewMicroseconds, drift ?? clock.DriftPpm);
            }
        }
        catch (Exception e) when (e is BadRequestException or ArgumentOutOfRangeException)
        {
            return Fail(context, e as BadRequestException ?? new BadRequestException(InvalidTestFault, e.Message));
        }

        return Results.Ok(new
        {
            skewMicroseconds = clock.SkewMicroseconds,
            driftPpm = clock.DriftPpm,
            wallMicroseconds = _host.Runtime.Clock.WallMicroseconds,
        });
    }

    /// <summary><c>PUT /api/test/disk?capacity_bytes=N</c>: the disk's quota; answers quota and usage.</summary>
    private IResult SetTestDisk(HttpContext context)
    {
        try
        {
            var capacity = Number(context.Request.Query["capacity_bytes"], "capacity_bytes", long.Parse)
                ?? throw new BadRequestException(InvalidTestFault, "capacity_bytes is required");
            if (capacity < 0)
            {
                throw new BadRequestException(InvalidTestFault, $"capacity_bytes {capacity} is negative");
            }

            _host.Disk.SetQuota(capacity);
        }
        catch (BadRequestException e)
        {
            return Fail(context, e);
        }

        return Results.Ok(new { quotaBytes = _host.Disk.QuotaBytes, usedBytes = _host.Disk.UsedBytes });
    }

    /// <summary>The query value as a number (null when absent); a bad one is a 400 naming it.</summary>
    private static T? Number<T>(string? text, string name, Func<string, IFormatProvider, T> parse)
        where T : struct
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return parse(text, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new BadRequestException(InvalidTestFault, $"{name} '{text}' is not a number");
        }
    }
}
