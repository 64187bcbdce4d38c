using System.Globalization;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Node.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.Http;

internal sealed partial class Gateway
{
    private const string FilesPrefix = "/api/files/";
    private const int ListLimitMax = 1024;

    private void MapFiles(WebApplication app)
    {
        var config = _host.Config;
        app.MapPut("/api/files/{**path}", PutAsync).Allow(config, ApiRole.Write)
            .Doc("PutFile", "Upload a file (the body, streamed)",
                "Cuts the body into chunks, stores and replicates them, then publishes the manifest. `durability` " +
                "is all, quorum (default) or fast. Answers the new version.")
            .Returns(200, typeof(FileVersionInfo))
            .Query("durability", "all, quorum (default) or fast")
            .Errors([(400, BadPath), (400, BadDurability), (413, "too_large: over MAX_UPLOAD_MB or the chunk limit"),
                (503, "durability_not_met: too few copies were acknowledged in time (the data stays queued)"),
                .. Busy, (507, "disk_full: the disk or MAX_DISK_MB is full"),
                (500, "disk_error: a local disk operation failed")]);
        app.MapGet("/api/files/{**path}", GetOrListAsync).Allow(config, ApiRole.Read)
            .Doc("GetFileOrList", "Download a file, or list a folder (a path ending in '/')",
                "A file streams as application/octet-stream (Range supported; `version` reads a conflict version). " +
                "A path ending in '/' (or empty, with `prefix`) lists live files under it: `limit` (1..1024) and " +
                "the cursor `after` (the previous page's `next`).")
            .Returns(200, null, "application/octet-stream").Returns(206, null, "application/octet-stream")
            .Query("version", "a version token: read that (conflict) version instead of the winner")
            .Query("limit", "listing: files per page, 1..1024 (default 1000)")
            .Query("after", "listing: the cursor, the previous page's next")
            .Query("prefix", "listing of the root: only paths starting with this")
            .Query("expires", SignedUrlQuery).Query("by", SignedUrlQuery).Query("sig", SignedUrlQuery)
            .Errors([(400, BadPath), (400, BadLimit), (400, BadVersion), (404, NotFound), (416, BadRange),
                (503, Unavailable), .. Busy]);
        app.MapMethods("/api/files/{**path}", ["HEAD"], HeadAsync).Allow(config, ApiRole.Read)
            .Doc("HeadFile", "A file's size, version and content id in headers, no body")
            .Returns(200, null, "application/octet-stream")
            .Query("version", "a version token: that (conflict) version instead of the winner")
            .Query("expires", SignedUrlQuery).Query("by", SignedUrlQuery).Query("sig", SignedUrlQuery)
            .Errors([(400, BadPath), (400, BadVersion), (404, NotFound), .. Busy]);
        app.MapDelete("/api/files/{**path}", DeleteAsync).Allow(config, ApiRole.Write)
            .Doc("DeleteFile", "Delete a file (writes a tombstone that reaches every node)")
            .Returns(200, typeof(FileVersionInfo))
            .Query("durability", "all, quorum (default) or fast")
            .Errors([(400, BadPath), (400, BadDurability), (404, NotFound),
                (503, "durability_not_met: too few copies of the tombstone were acknowledged in time"), .. Busy,
                (507, "disk_full: the disk is full")]);
        MapDownloadUrl(app, config);
        app.MapGet("/api/versions/{**path}", (HttpContext context, string? path) =>
            CallAsync(context, () => _host.Node.VersionsAsync(path ?? ""), versions => versions.Count > 0
                ? Results.Ok(versions)
                : throw new FileNotFoundInClusterException(path ?? "")))
            .Allow(config, ApiRole.Read)
            .Doc("Versions", "A file's versions: the winner and any conflict versions, with tokens and origin")
            .Returns(200, typeof(IReadOnlyList<FileVersionInfo>))
            .Errors([(400, BadPath), (404, NotFound), .. Busy]);
        app.MapGet("/api/content/{contentId}", ContentAsync).Allow(config, ApiRole.Read)
            .Doc("Content", "Download an immutable version by its content id (cacheable forever)")
            .Returns(200, null, "application/octet-stream").Returns(206, null, "application/octet-stream")
            .Errors([(400, "invalid_content_id: not lowercase hex"), (404, NotFound), (416, BadRange),
                (503, Unavailable), .. Busy]);
    }

    /// <summary>
    /// <c>POST /api/download-url</c>: a short-lived URL that downloads one version of a file without a token
    /// (<see cref="DownloadUrls"/>), for browsers, whose links cannot carry the Authorization header. Without API
    /// tokens it answers the plain URL, which needs none.
    /// </summary>
    private void MapDownloadUrl(WebApplication app, NodeConfig config)
    {
        var urls = config.ApiTokens.Count > 0 ? new DownloadUrls(config.ApiTokens) : null;
        app.MapPost("/api/download-url", (Func<HttpContext, Task<IResult>>)(c => DownloadUrlAsync(c, urls)))
            .Allow(config, ApiRole.Read)
            .Doc("DownloadFileUrl", "A short-lived signed URL that downloads one version of a file without a token",
                "Body: {\"path\": \"a/b.txt\", \"version\": optional (default: the current one), " +
                "\"lifetimeSeconds\": 1..900 (default 300)}. Answers {url, path, version, expiresUnixSeconds}: " +
                "`url` (relative to any node with the same API_TOKENS) is good for GET and HEAD of exactly that path " +
                "and version until then, with no Authorization header; used for anything else, tampered with or " +
                "expired it answers 403 (download_url_invalid, download_url_expired). Signature: HMAC-SHA256 keyed " +
                "with a key derived from the calling token's secret (docs/SECURITY.md). Without API tokens the URL " +
                "is the plain one and expiresUnixSeconds is null.")
            .Returns(200, typeof(DownloadUrlInfo))
            .Errors([(400, BadPath), (400, BadVersion), (400, BadDownloadRequest), (404, NotFound), .. Busy]);
    }

    private const string SignedUrlQuery =
        "part of a signed download URL (POST /api/download-url), which stands in for the token: copy it whole";

    private const string BadDownloadRequest =
        "invalid_request: the body is not JSON {path, version?, lifetimeSeconds?} or lifetimeSeconds is not 1..900";

    private async Task<IResult> DownloadUrlAsync(HttpContext context, DownloadUrls? urls)
    {
        try
        {
            var request = await ReadDownloadRequestAsync(context);
            var version = ParseVersion(request.Version);
            await RequireReadyAsync();
            var info = await _host.Loop.InvokeAsync(() => StatAsync(request.Path ?? "", version));
            var lifetime = request.LifetimeSeconds ?? DownloadUrls.LifetimeSecondsDefault;
            var caller = context.User.Identity?.Name;
            var token = urls is null ? null : _host.Config.ApiTokens.FirstOrDefault(t => t.Name == caller);
            if (urls is null || token is null)
            {
                var plain = FilesPrefix + string.Join('/', info.Path.Split('/').Select(Uri.EscapeDataString)) +
                    "?version=" + Uri.EscapeDataString(info.Version);
                return Results.Ok(new DownloadUrlInfo(plain, info.Path, info.Version, null));
            }

            var expires = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + lifetime;
            return Results.Ok(new DownloadUrlInfo(urls.Sign(token, info.Path, info.Version, expires), info.Path,
                info.Version, expires));
        }
        catch (Exception e)
        {
            return Fail(context, e);
        }
    }

    private static async Task<DownloadUrlRequest> ReadDownloadRequestAsync(HttpContext context)
    {
        DownloadUrlRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync<DownloadUrlRequest>(EventJson);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new BadRequestException("invalid_request", "the body must be JSON {path, version?, " +
                "lifetimeSeconds?} (Content-Type: application/json): " + e.Message);
        }

        if (request is null || string.IsNullOrEmpty(request.Path) || request.Path.EndsWith('/'))
        {
            throw new BadRequestException("invalid_path", "the body names no file: {\"path\": \"a/b.txt\"}");
        }

        if (request.LifetimeSeconds is < 1 or > DownloadUrls.LifetimeSecondsMax)
        {
            throw new BadRequestException("invalid_request",
                $"lifetimeSeconds {request.LifetimeSeconds} is invalid: expected 1..{DownloadUrls.LifetimeSecondsMax}");
        }

        return request;
    }

    private const string BadPath = "invalid_path: the path breaks the path rules (docs/NODE.md says which)";
    private const string BadDurability = "invalid_durability: not all, quorum or fast";
    private const string BadLimit = "invalid_limit: not 1..1024";
    private const string BadVersion = "invalid_version: not a version token such as 1700000000000000.0@n1";
    private const string BadRange = "range_not_satisfiable: the Range lies past the end (Content-Range says the size)";
    private const string NotFound = "not_found: no live version (or the named one) exists in the cluster";
    private const string Unavailable = "chunk_unavailable: no replica of a chunk could be read intact";

    private async Task<IResult> PutAsync(HttpContext context, string? path)
    {
        try
        {
            var durability = ParseDurability(context.Request.Query["durability"]);
            var limit = _host.Config.MaxUploadBytes;
            if (limit is { } max && context.Request.ContentLength > max)
            {
                throw new UploadTooLargeException(max);
            }

            // Core reads the body straight from Kestrel into its chunk buffers: with several chunks of the upload in
            // flight (UPLOAD_CHUNKS_IN_FLIGHT) the next read starts while earlier chunks are hashed and written, so
            // no read-ahead copy is needed.
            var body = new LoopReadStream(_host.Loop, context.Request.Body, limit, Metrics.CountIn);
            return await CallAsync(context, () => _host.Node.PutAsync(path ?? "", body, durability),
                info => Results.Ok(info));
        }
        catch (Exception e)
        {
            return Fail(context, e);
        }
    }

    private async Task<IResult> DeleteAsync(HttpContext context, string? path)
    {
        try
        {
            var durability = ParseDurability(context.Request.Query["durability"]);
            return await CallAsync(context, () => _host.Node.DeleteAsync(path ?? "", durability),
                info => Results.Ok(info));
        }
        catch (Exception e)
        {
            return Fail(context, e);
        }
    }

    private async Task GetOrListAsync(HttpContext context, string? path)
    {
        var raw = context.Request.Path.Value ?? "";
        if (string.IsNullOrEmpty(path) || raw.EndsWith('/'))
        {
            var prefix = raw.Length > FilesPrefix.Length ? raw[FilesPrefix.Length..] : "";
            if (prefix.Length == 0 && context.Request.Query["prefix"] is { Count: > 0 } query)
            {
                prefix = query.ToString();
            }

            IResult result;
            try
            {
                var limit = ParseLimit(context.Request.Query["limit"]);
                string? after = context.Request.Query["after"];
                result = await CallAsync(context, () => _host.Node.ListAsync(prefix, after, limit),
                    page => Results.Ok(new { prefix, files = page.Files, page.Next, page.Truncated }));
            }
            catch (Exception e)
            {
                result = Fail(context, e);
            }

            await result.ExecuteAsync(context);
            return;
        }

        string? version = context.Request.Query["version"];
        await ServeFileAsync(context, () => StatAsync(path, ParseVersion(version)), immutable: false);
    }

    private async Task HeadAsync(HttpContext context, string? path)
    {
        try
        {
            await RequireReadyAsync();
            var version = ParseVersion(context.Request.Query["version"]);
            var info = await _host.Loop.InvokeAsync(() => StatAsync(path ?? "", version));
            WriteHeaders(context, info, immutable: false);
            context.Response.ContentLength = info.SizeBytes;
        }
        catch (Exception e)
        {
            await Fail(context, e).ExecuteAsync(context);
        }
    }

    private async Task ContentAsync(HttpContext context, string contentId)
    {
        await ServeFileAsync(context, async () =>
        {
            if (!IsHex(contentId))
            {
                throw new BadRequestException("invalid_content_id", $"'{contentId}' is not a content id (hex)");
            }

            return await _host.Node.FindContentAsync(contentId)
                ?? throw new FileNotFoundInClusterException("content " + contentId);
        }, immutable: true);
    }

    /// <summary>The current version of a path, or the named one (a conflict version).</summary>
    private async Task<FileVersionInfo> StatAsync(string path, string? version)
    {
        if (string.IsNullOrEmpty(version))
        {
            return await _host.Node.StatAsync(path);
        }

        var versions = await _host.Node.VersionsAsync(path);
        return versions.FirstOrDefault(v => v.Version == version && !v.IsTombstone)
            ?? throw new FileNotFoundInClusterException($"{path} version {version}");
    }

    /// <summary>Streams one version of a file (whole, or one Range) pinned by its version token.</summary>
    private async Task ServeFileAsync(HttpContext context, Func<Task<FileVersionInfo>> resolve, bool immutable)
    {
        FileVersionInfo info;
        ByteRange? range;
        try
        {
            await RequireReadyAsync();
            info = await _host.Loop.InvokeAsync(resolve);
            range = ByteRange.Parse(context.Request.Headers.Range, info.SizeBytes);
        }
        catch (Exception e)
        {
            if (e is RangeNotSatisfiableException)
            {
                var size = await TrySizeAsync(resolve);
                context.Response.Headers.ContentRange = size is null ? "bytes */*" : $"bytes */{size}";
            }

            await Fail(context, e).ExecuteAsync(context);
            return;
        }

        WriteHeaders(context, info, immutable);
        var (offset, length) = range is { } r ? (r.Offset, r.Length) : (0L, info.SizeBytes);
        if (range is not null)
        {
            context.Response.StatusCode = StatusCodes.Status206PartialContent;
            context.Response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture,
                $"bytes {offset}-{offset + length - 1}/{info.SizeBytes}");
        }

        context.Response.ContentLength = length;
        await StreamAsync(context, info, offset, length);
    }

    private async Task StreamAsync(HttpContext context, FileVersionInfo info, long offset, long length)
    {
        try
        {
            var body = new LoopWriteStream(_host.Loop, context.Response.Body, Metrics.CountOut);
            await _host.Loop.InvokeAsync(() => _host.Node.GetAsync(info.Path, body, offset, length, info.Version));
        }
        catch (Exception e)
        {
            if (!context.Response.HasStarted)
            {
                context.Response.Headers.ContentRange = default;
                context.Response.ContentLength = null;
                await Fail(context, e).ExecuteAsync(context);
                return;
            }

            Logging.Log.ResponseAborted(_log, context.Request.Method, context.Request.Path.Value ?? "", e);
            context.Abort();
        }
    }

    private async Task<long?> TrySizeAsync(Func<Task<FileVersionInfo>> resolve)
    {
        try
        {
            return (await _host.Loop.InvokeAsync(resolve)).SizeBytes;
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static void WriteHeaders(HttpContext context, FileVersionInfo info, bool immutable)
    {
        var headers = context.Response.Headers;
        headers.ContentType = "application/octet-stream";
        headers.AcceptRanges = "bytes";
        headers.ETag = $"\"{info.ContentId}\"";
        headers["X-Kepler-Version"] = info.Version;
        headers["X-Kepler-Content-Id"] = info.ContentId;
        headers["X-Kepler-Path"] = Uri.EscapeDataString(info.Path);
        if (immutable)
        {
            headers.CacheControl = "public, max-age=31536000, immutable";
        }
    }

    /// <summary>The <c>durability</c> parameter: absent means quorum; otherwise exactly all, quorum or fast.</summary>
    private static Durability ParseDurability(string? text) => text switch
    {
        null or "quorum" => Durability.Quorum,
        "all" => Durability.All,
        "fast" => Durability.Fast,
        _ => throw new BadRequestException("invalid_durability",
            $"durability '{text}' is invalid: expected all, quorum or fast"),
    };

    /// <summary>The <c>version</c> parameter: absent, or a version token (<c>wall.logical@node</c>).</summary>
    private static string? ParseVersion(string? text) => text is null || VersionToken.TryParse(text, out _)
        ? text
        : throw new BadRequestException("invalid_version",
            $"version '{text}' is invalid: expected a version token such as 1700000000000000.0@n1");

    /// <summary>A <c>limit</c>: absent is <paramref name="fallback"/>, else 1..<paramref name="max"/>.</summary>
    private static int ParseLimit(string? text, int fallback = 1000, int max = ListLimitMax)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
            && limit >= 1 && limit <= max
            ? limit
            : throw new BadRequestException("invalid_limit", $"limit '{text}' is invalid: expected 1..{max}");
    }

    private static bool IsHex(string text) =>
        text.Length is > 0 and <= 128 && text.All(c => char.IsAsciiHexDigitLower(c) || char.IsAsciiDigit(c));
}

/// <summary>The body of <c>POST /api/download-url</c>.</summary>
/// <param name="Path">The file.</param>
/// <param name="Version">A version token; null: the current version (pinned into the URL).</param>
/// <param name="LifetimeSeconds">How long the URL is good for: 1..900 s; null: 300 s.</param>
public sealed record DownloadUrlRequest(string? Path, string? Version, int? LifetimeSeconds);

/// <summary>A download URL and what it is good for.</summary>
/// <param name="Url">Path and query, relative to a node (any node with the same API_TOKENS).</param>
/// <param name="Path">The file.</param>
/// <param name="Version">The version it downloads.</param>
/// <param name="ExpiresUnixSeconds">When it stops working (Unix seconds); null without API tokens.</param>
public sealed record DownloadUrlInfo(string Url, string Path, string Version, long? ExpiresUnixSeconds);
