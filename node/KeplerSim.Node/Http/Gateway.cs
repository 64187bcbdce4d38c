using System.Diagnostics;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.Http;

/// <summary>
/// The HTTP gateway (ASP.NET Core minimal API on Kestrel, bound to BIND_ADDRESS:HTTP_PORT only). Every call into
/// core is posted to the node's loop and awaited; bodies stream through <see cref="LoopReadStream"/> and
/// <see cref="LoopWriteStream"/>, never buffered whole.
/// </summary>
internal sealed partial class Gateway : IAsyncDisposable
{
    private readonly NodeHost _host;
    private readonly WebApplication _app;
    private readonly ILogger _log;

    private Gateway(NodeHost host, WebApplication app)
    {
        _host = host;
        _app = app;
        _log = host.Loggers.CreateLogger("KeplerSim.Node.Http");
    }

    public Uri Address { get; private set; } = null!;

    public GatewayMetrics Metrics { get; } = new();

    public static async Task<Gateway> StartAsync(NodeHost host)
    {
        var config = host.Config;
        var builder = NodeWebHost.CreateBuilder(config, config.HttpPort, KestrelRejections.ApiJson);
        builder.Logging.AddFilter(typeof(BearerTokenHandler).FullName, LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Kestrel rejects requests over its own limits before any middleware runs (answered in the JSON shape by
            // KestrelRejections, with Kestrel's terse message); its limits sit above the gateway's (RequestGuards) so
            // ordinary oversized requests get a message with the sizes.
            kestrel.Limits.MaxRequestHeadersTotalSize = RequestGuards.HeadersTotalSizeMax * 8;
            kestrel.Limits.MaxRequestLineSize = RequestGuards.RequestLineSizeMax * 8;
        });

        builder.Services.ConfigureHttpJsonOptions(o =>
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase);
        if (config.ApiTokens.Count > 0)
        {
            ApiAuth.Add(builder.Services, config.ApiTokens);
        }

        AddOpenApi(builder.Services, config);

        var app = builder.Build();
        var gateway = new Gateway(host, app);
        app.Use(gateway.CountAsync);
        RequestGuards.Use(app, gateway._log);
        UseUi(app);
        if (config.ApiTokens.Count > 0)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }

        gateway.MapFiles(app);
        gateway.MapStatus(app);
        gateway.MapUi(app, config);
        MapOpenApi(app);
        await app.StartAsync();
        gateway.Address = NodeWebHost.BoundAddress(app);
        gateway.LogAccess();
        return gateway;
    }

    /// <summary>Says how the API is protected; an open API reachable from other hosts is a warning.</summary>
    private void LogAccess()
    {
        var config = _host.Config;
        if (config.ApiTokens.Count == 0)
        {
            if (!System.Net.IPAddress.IsLoopback(config.BindAddress))
            {
                _log.ApiOpen(Address.ToString());
            }

            return;
        }

        _log.ApiSecured(config.ApiTokens.Count, string.Join(",", config.ApiTokens),
            config.MetricsAuth == MetricsAuth.Open ? "open" : "needs read", Address.Scheme);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Open streams (event subscribers) are cut off.
        }

        await _app.DisposeAsync();
    }

    private async Task CountAsync(HttpContext context, RequestDelegate next)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            Metrics.CountRequest(route, context.Request.Method, context.Response.StatusCode,
                Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>Calls core on the loop, turning failures into JSON errors.</summary>
    private async Task<IResult> CallAsync<T>(HttpContext context, Func<Task<T>> work, Func<T, IResult> ok)
    {
        try
        {
            await RequireReadyAsync();
            return ok(await _host.Loop.InvokeAsync(work));
        }
        catch (Exception e)
        {
            return Fail(context, e);
        }
    }

    private async Task RequireReadyAsync()
    {
        if (!_host.Node.Ready.IsCompletedSuccessfully)
        {
            throw new NotReadyException();
        }

        if (_host.Draining)
        {
            throw new NotReadyException("the node is draining (decommissioned): use another node");
        }

        await Task.CompletedTask;
    }

    private IResult Fail(HttpContext context, Exception e)
    {
        var (status, error) = ApiErrors.Map(e);
        var method = context.Request.Method;
        var path = context.Request.Path.Value ?? "";
        if (status >= 500)
        {
            _log.ServerError(method, path, status, error.Code, error.Message, e);
        }
        else
        {
            _log.ClientError(method, path, status, error.Code, error.Message);
        }

        return ApiErrors.ToResult(status, error);
    }
}
