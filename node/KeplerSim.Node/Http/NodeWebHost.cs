using KeplerSim.Node.Hosting;
using KeplerSim.Node.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace KeplerSim.Node.Http;

/// <summary>What the node's HTTP listeners (the gateway and the S3 server) share: one Kestrel host each.</summary>
internal static class NodeWebHost
{
    /// <summary>
    /// A slim host listening on BIND_ADDRESS:<paramref name="port"/> only, over HTTPS when TLS_CERT is set, logging
    /// in the node's format, with no body size limit (uploads are bounded while they stream) and no Server header,
    /// and the bulk memory pool for large transfers. A request Kestrel rejects itself is answered with
    /// <paramref name="describe"/>'s error body (<see cref="KestrelRejections"/>).
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(NodeConfig config, int port, DescribeRejection describe)
    {
        // No appsettings reload: its file watcher watches the working directory recursively, which by default
        // holds DATA_DIR (./data/NODE_ID), so every chunk written woke the watcher thread (ProcessTests). The node
        // is configured by its environment and flags only.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.AddKeplerConsole(config.LogFormat, config.LogLevel, config.NodeId.Value);
        KestrelRejections.ShowDetails(builder.Logging);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(config.BindAddress, port, listen =>
            {
                if (config.TlsCertificate is { } certificate)
                {
                    listen.UseHttps(certificate);
                }

                // After UseHttps: the rewrite sits inside TLS, on the HTTP bytes.
                KestrelRejections.Use(listen, describe);
            });
            // Core limits a file to its chunk count; MAX_UPLOAD_MB is enforced while streaming.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
        });
        // Large receive blocks: one receive call per 64 KiB of an upload instead of per 4 KiB.
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>,
            BulkMemoryPoolFactory>();
        return builder;
    }

    /// <summary>The address a started host is bound to (a wildcard bind reads as 127.0.0.1).</summary>
    public static Uri BoundAddress(WebApplication app)
    {
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First();
        return new Uri(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }
}
