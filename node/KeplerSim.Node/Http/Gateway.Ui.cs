using KeplerSim.Core.Membership;
using KeplerSim.Node.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.FileProviders;

namespace KeplerSim.Node.Http;

internal sealed partial class Gateway
{
    /// <summary>Where the browser UI lives.</summary>
    public const string UiPath = "/ui";

    /// <summary>Points the ring is sampled at for <c>/api/ui/cluster</c> (one per degree).</summary>
    public const int RingSamples = 360;

    /// <summary>The embedded resource names' prefix (the csproj gives every built asset this logical name).</summary>
    private const string UiResourcePrefix = "KeplerSim.Node.ui";

    /// <summary>
    /// The browser UI: the built front end (node/web, see docs/UI.md) embedded in the assembly and served at
    /// <c>/ui/</c>; <c>/</c> redirects there. The assets are static and open (they hold no data); every call they
    /// make goes to the API with the session's token, if API tokens are on.
    /// </summary>
    private static void UseUi(WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(Gateway).Assembly, UiResourcePrefix);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = UiPath });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            RequestPath = UiPath,
            // The assets change with the binary; revalidate rather than serve a stale UI after an upgrade.
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });
    }

    /// <summary>Maps <c>/</c> (a redirect to the UI) and the one JSON endpoint only the UI needs.</summary>
    private void MapUi(WebApplication app, NodeConfig config)
    {
        app.MapGet("/", () => Results.Redirect(UiPath + "/")).ExcludeFromDescription();
        app.MapGet("/api/ui/cluster", Handler(() => Task.FromResult(UiCluster())))
            .Allow(config, ApiRole.Read)
            .Doc("UiCluster", "What the UI's Cluster and Node pages draw that no other endpoint has",
                "Members with how long each has been in its state, the ring sampled at 360 points (each arc's " +
                "owners, primary first) and this node's disk quota and use.")
            .Returns(200, null)
            .Errors(Busy);
    }

    /// <summary>The routes this gateway maps (method and pattern), for the OpenAPI test.</summary>
    internal IReadOnlyList<(string Method, string Pattern)> Routes() =>
        [.. ((IEndpointRouteBuilder)_app).DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => (m, e.RoutePattern.RawText ?? "")))];

    private object UiCluster()
    {
        var node = _host.Node;
        var now = _host.Runtime.Clock.MonotonicMicroseconds;
        IEnumerable<MemberInfo> members = node.Membership?.Members ?? [];
        return new
        {
            members = members.OrderBy(m => m.Id).Select(m => new
            {
                id = m.Id.Value,
                state = StateName(m.Status),
                incarnation = m.Incarnation,
                stateForSeconds = Math.Max(0, now - m.StatusChangedMicroseconds) / 1_000_000.0,
            }).ToList(),
            ring = RingArcs(),
            disk = new
            {
                quotaBytes = _host.Config.MaxDiskBytes,
                usedBytes = _host.Config.MaxDiskBytes is null ? (long?)null : _host.Disk.UsedBytes,
            },
        };
    }

    /// <summary>
    /// The ring as arcs: <see cref="RingSamples"/> evenly spaced positions, consecutive ones with the same owners
    /// merged. With hundreds of virtual nodes per member each arc is a sampled approximation, which is what a
    /// picture needs; <c>/api/ring</c> has the exact shares.
    /// </summary>
    private List<object> RingArcs()
    {
        var ring = _host.Node.Ring;
        var arcs = new List<object>();
        if (ring.Nodes.Count == 0)
        {
            return arcs;
        }

        var step = ulong.MaxValue / RingSamples;
        string[]? current = null;
        var start = 0;
        for (var i = 0; i <= RingSamples; i++)
        {
            var owners = i < RingSamples ? ring.OwnersOf(step * (ulong)i).Select(n => n.Value).ToArray() : null;
            if (current is not null && (owners is null || !owners.SequenceEqual(current, StringComparer.Ordinal)))
            {
                arcs.Add(new { from = start, to = i, owners = current });
                start = i;
            }

            current = owners;
        }

        return arcs;
    }
}
