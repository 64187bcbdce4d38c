using System.Security.Cryptography;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.S3;

/// <summary>
/// The S3-compatible API: its own Kestrel listener on S3_PORT, SigV4-authenticated, mapping bucket/key onto the
/// store's path <c>bucket/key</c> and going through the same core write and read paths as the native API (bodies
/// stream through <see cref="LoopReadStream"/> and <see cref="LoopWriteStream"/>, never buffered whole).
/// Bookkeeping (bucket records, multipart uploads and their parts) lives under <see cref="KeplerNode.HiddenPrefix"/>.
/// </summary>
internal sealed partial class S3Server : IAsyncDisposable
{
    private const string BucketsPrefix = KeplerNode.HiddenPrefix + "s3/buckets/";
    private const string UploadsPrefix = KeplerNode.HiddenPrefix + "s3/uploads/";

    private readonly NodeHost _host;
    private readonly WebApplication _app;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private Task _sweeper = Task.CompletedTask;

    private S3Server(NodeHost host, WebApplication app)
    {
        _host = host;
        _app = app;
        _log = host.Loggers.CreateLogger("KeplerSim.Node.S3");
    }

    public Uri Address { get; private set; } = null!;

    private NodeConfig Config => _host.Config;

    private KeplerNode Node => _host.Node;

    /// <summary>Starts the S3 listener, or returns null (and logs why) when S3_KEYS is empty.</summary>
    public static async Task<S3Server?> StartAsync(NodeHost host)
    {
        var config = host.Config;
        if (config.S3Keys.Count == 0)
        {
            host.Loggers.CreateLogger("KeplerSim.Node.S3").S3Off("S3_KEYS is not set, so the S3 port is not opened");
            return null;
        }

        var builder = NodeWebHost.CreateBuilder(config, config.S3Port, DescribeRejection);
        var app = builder.Build();
        var server = new S3Server(host, app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Address = NodeWebHost.BoundAddress(app);
        server._log.S3On(server.Address.ToString(), config.S3Keys.Count, string.Join(",", config.S3Keys),
            config.S3Durability.ToString().ToLowerInvariant());
        server._sweeper = server.SweepAsync(server._stopping.Token);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await _sweeper;
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Open requests are cut off.
        }

        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var requestId = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        context.Response.Headers["x-amz-request-id"] = requestId;
        var resource = context.Request.Path.Value ?? "/";
        try
        {
            var signed = SigV4.Verify(context.Request, Config.S3Keys, DateTimeOffset.UtcNow);
            var call = S3Call.Create(context, signed, Config.S3Domain);
            if (!Node.Ready.IsCompletedSuccessfully || _host.Draining)
            {
                throw new S3Exception(503, "ServiceUnavailable", "The node is not ready (recovering or draining)");
            }

            await DispatchAsync(call);
        }
        catch (Exception e)
        {
            await FailAsync(context, e, resource, requestId);
        }
    }

    private async Task FailAsync(HttpContext context, Exception e, string resource, string requestId)
    {
        var error = Map(e);
        var method = context.Request.Method;
        if (error.Status >= 500)
        {
            _log.S3ServerError(method, resource, error.Status, error.Code, error.Message, e);
        }
        else
        {
            _log.S3ClientError(method, resource, error.Status, error.Code, error.Message);
        }

        if (context.Response.HasStarted)
        {
            _log.S3ResponseAborted(method, resource, e);
            context.Abort();
            return;
        }

        context.Response.Headers.ContentRange = default;
        context.Response.Headers.ETag = default;
        context.Response.ContentLength = null;
        await S3Xml.WriteErrorAsync(context, error, resource, requestId);
    }

    /// <summary>Core's and the gateway's exceptions as S3 errors.</summary>
    private static S3Exception Map(Exception e) => e switch
    {
        S3Exception s3 => s3,
        InvalidPathException => new S3Exception(400, "InvalidArgument", "The key is not a valid KeplerFS path: " +
            e.Message + " (keys may not be empty, end in '/', contain '//' or '.'/'..' segments)"),
        FileNotFoundInClusterException => new S3Exception(404, "NoSuchKey", e.Message),
        UploadTooLargeException => new S3Exception(400, "EntityTooLarge", e.Message),
        RangeNotSatisfiableException => new S3Exception(416, "InvalidRange", e.Message),
        DurabilityNotMetException or ChunkUnavailableException or NotReadyException =>
            new S3Exception(503, "ServiceUnavailable", e.Message),
        DiskFullException => new S3Exception(507, "InsufficientStorage", e.Message),
        BadHttpRequestException http => new S3Exception(http.StatusCode, "BadRequest", e.Message),
        _ => new S3Exception(500, "InternalError", e.GetType().Name + ": " + e.Message),
    };

    /// <summary>Runs <paramref name="work"/> on the node's loop.</summary>
    private Task<T> OnLoop<T>(Func<Task<T>> work) => _host.Loop.InvokeAsync(work);

    /// <summary>The live version of <paramref name="path"/>, or null.</summary>
    private async Task<FileVersionInfo?> TryStatAsync(string path)
    {
        try
        {
            return await OnLoop(() => Node.StatAsync(path));
        }
        catch (FileNotFoundInClusterException)
        {
            return null;
        }
    }

    /// <summary>Deletes a path; one already gone is fine.</summary>
    private async Task DeleteQuietlyAsync(string path, Durability durability)
    {
        try
        {
            await OnLoop(() => Node.DeleteAsync(path, durability));
        }
        catch (FileNotFoundInClusterException)
        {
            // Already gone.
        }
    }

    /// <summary>Every live file under <paramref name="prefix"/>, page by page.</summary>
    private async IAsyncEnumerable<FileVersionInfo> ListAllAsync(string prefix)
    {
        string? after = null;
        do
        {
            var cursor = after;
            var page = await OnLoop(() => Node.ListAsync(prefix, cursor, 1000));
            foreach (var file in page.Files)
            {
                yield return file;
            }

            after = page.Next;
        }
        while (after is not null);
    }

    /// <summary>When a version was written (its version token's wall clock), to the second as HTTP dates go.</summary>
    private static DateTimeOffset LastModified(FileVersionInfo info) =>
        VersionToken.TryParse(info.Version, out var token)
            ? DateTimeOffset.FromUnixTimeMilliseconds(token.WallMicroseconds / 1000)
            : DateTimeOffset.UnixEpoch;

    private static string Attribute(FileVersionInfo info, string name) =>
        info.Attributes?.GetValueOrDefault(name) ?? "";
}
