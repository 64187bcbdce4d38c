using System.Globalization;
using System.Text;
using KeplerSim.Core.Node;
using KeplerSim.Node.Http;

namespace KeplerSim.Node.S3;

internal sealed partial class S3Server
{
    /// <summary>The attribute with the S3 ETag (hex MD5, or md5-of-part-md5s-N) of a version written by S3.</summary>
    private const string EtagAttribute = "s3-etag";

    private const string MetaPrefix = "x-amz-meta-";

    /// <summary>Most bytes of user metadata (x-amz-meta-*), as S3.</summary>
    private const int UserMetadataBytesMax = 2048;

    /// <summary>Headers stored with an object and returned on GET and HEAD.</summary>
    private static readonly string[] StoredHeaders =
        ["content-type", "cache-control", "content-disposition", "content-encoding", "content-language", "expires"];

    private async Task PutObjectAsync(S3Call call)
    {
        await RequireBucketAsync(call.Bucket!);
        var attributes = MetadataOf(call);
        var info = await WriteAsync(call, call.Path, attributes);
        call.Response.Headers.ETag = EtagOf(info);
        call.Response.StatusCode = 200;
    }

    /// <summary>Streams the request body to <paramref name="path"/>, storing its MD5 as the ETag attribute.</summary>
    private async Task<FileVersionInfo> WriteAsync(S3Call call, string path, Dictionary<string, string> attributes)
    {
        // An object's body has a length (or is aws-chunked); a bodiless request such as CreateBucket need not say 0.
        if (call.Request.ContentLength is null && call.Request.Headers.TransferEncoding.Count == 0
            && call.Signed.Payload is not (PayloadMode.StreamingSigned or PayloadMode.StreamingUnsigned))
        {
            throw new S3Exception(411, "MissingContentLength", "You must provide the Content-Length HTTP header.");
        }

        var hashing = OpenBody(call);
        var body = new LoopReadStream(_host.Loop, hashing, Config.MaxUploadBytes, _ => { });
        return await OnLoop(() => Node.PutAsync(path, body, Config.S3Durability, () =>
        {
            var md5 = hashing.Md5 ?? throw new InvalidOperationException("the body was not read to its end");
            attributes[EtagAttribute] = Convert.ToHexStringLower(md5);
            return attributes;
        }));
    }

    /// <summary>The request body, decoded (aws-chunked) and checked (signatures, SHA-256, Content-MD5).</summary>
    private static HashingStream OpenBody(S3Call call)
    {
        Stream body = call.Request.Body;
        long? expected = null;
        if (call.Signed.Payload is PayloadMode.StreamingSigned or PayloadMode.StreamingUnsigned)
        {
            body = new AwsChunkedStream(body, call.Signed);
            if (call.Header("x-amz-decoded-content-length") is { } decoded)
            {
                expected = long.TryParse(decoded, NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                    ? length
                    : throw S3Exception.InvalidArgument("x-amz-decoded-content-length is not a number");
            }
        }

        var md5 = call.Header("content-md5");
        if (md5 is not null)
        {
            HashingStream.DecodeMd5(md5); // A malformed header fails before any byte is stored.
        }

        return new HashingStream(body, md5, call.Signed.PayloadSha256, expected);
    }

    /// <summary>Content-Type, the other stored headers and x-amz-meta-* of a request, as attributes.</summary>
    private static Dictionary<string, string> MetadataOf(S3Call call)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["content-type"] = call.Header("content-type") ?? "binary/octet-stream",
        };
        foreach (var name in StoredHeaders.Skip(1))
        {
            if (call.Header(name) is { } value)
            {
                attributes[name] = value;
            }
        }

        var userBytes = 0;
        foreach (var (name, value) in call.Request.Headers)
        {
            if (name.StartsWith(MetaPrefix, StringComparison.OrdinalIgnoreCase))
            {
                var lower = name.ToLowerInvariant();
                attributes[lower] = value.ToString();
                userBytes += Encoding.UTF8.GetByteCount(lower[MetaPrefix.Length..]) +
                    Encoding.UTF8.GetByteCount(value.ToString());
            }
        }

        return userBytes <= UserMetadataBytesMax
            ? attributes
            : throw new S3Exception(400, "MetadataTooLarge",
                $"Your metadata headers exceed the maximum allowed metadata size ({UserMetadataBytesMax} bytes)");
    }

    private async Task GetObjectAsync(S3Call call, bool withBody)
    {
        var info = await TryStatAsync(call.Path) ?? throw await MissingAsync(call);
        if (Precondition(call, info) is { } status)
        {
            call.Response.StatusCode = status;
            call.Response.Headers.ETag = EtagOf(info);
            if (status == 412)
            {
                throw new S3Exception(412, "PreconditionFailed",
                    "At least one of the preconditions you specified did not hold");
            }

            return;
        }

        ByteRange? range;
        try
        {
            range = ByteRange.Parse(call.Header("range"), info.SizeBytes);
        }
        catch (RangeNotSatisfiableException)
        {
            call.Response.Headers.ContentRange = $"bytes */{info.SizeBytes}";
            throw new S3Exception(416, "InvalidRange", "The requested range is not satisfiable");
        }

        WriteObjectHeaders(call, info);
        var (offset, length) = range is { } r ? (r.Offset, r.Length) : (0L, info.SizeBytes);
        if (range is not null)
        {
            call.Response.StatusCode = 206;
            call.Response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture,
                $"bytes {offset}-{offset + length - 1}/{info.SizeBytes}");
        }

        call.Response.ContentLength = length;
        if (withBody && length > 0)
        {
            var body = new LoopWriteStream(_host.Loop, call.Response.Body, _ => { });
            await OnLoop(() => Node.GetAsync(info.Path, body, offset, length, info.Version));
        }
    }

    /// <summary>304 or 412 when a conditional header says so (S3's precedence), else null.</summary>
    private static int? Precondition(S3Call call, FileVersionInfo info)
    {
        var etag = EtagOf(info).Trim('"');
        var modified = LastModified(info);
        var ifMatch = call.Header("if-match");
        var ifNoneMatch = call.Header("if-none-match");
        if (ifMatch is not null && !EtagMatches(ifMatch, etag))
        {
            return 412;
        }

        if (ifMatch is null && HttpDate(call.Header("if-unmodified-since")) is { } unmodified
            && modified > unmodified)
        {
            return 412;
        }

        if (ifNoneMatch is not null && EtagMatches(ifNoneMatch, etag))
        {
            return 304;
        }

        return ifNoneMatch is null && HttpDate(call.Header("if-modified-since")) is { } since && modified <= since
            ? 304
            : null;
    }

    private static bool EtagMatches(string header, string etag) => header.Split(',')
        .Select(t => t.Trim().TrimStart('W', '/').Trim('"'))
        .Any(t => t == "*" || t == etag);

    private static DateTimeOffset? HttpDate(string? text) =>
        text is not null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal, out var time) ? time : null;

    private static void WriteObjectHeaders(S3Call call, FileVersionInfo info)
    {
        var headers = call.Response.Headers;
        headers.ETag = EtagOf(info);
        headers.LastModified = LastModified(info).ToString("r", CultureInfo.InvariantCulture);
        headers.AcceptRanges = "bytes";
        headers.ContentType = "binary/octet-stream";
        foreach (var (name, value) in info.Attributes ?? new Dictionary<string, string>())
        {
            if (StoredHeaders.Contains(name, StringComparer.Ordinal)
                || name.StartsWith(MetaPrefix, StringComparison.Ordinal))
            {
                headers[name] = value;
            }
        }

        foreach (var name in StoredHeaders)
        {
            // A presigned GET may ask for other response headers (response-content-type=...).
            if (call.Query.Get("response-" + name) is { } value)
            {
                headers[name] = value;
            }
        }
    }

    /// <summary>
    /// The S3 ETag: the stored MD5 (or multipart ETag) when written through S3. A file written through the native
    /// API has no MD5; its ETag is its content id and chunk count (<c>sha256hex-N</c>): the dash tells SDKs and
    /// rclone, as for a multipart ETag, that it is not an MD5 to check the bytes against.
    /// </summary>
    private static string EtagOf(FileVersionInfo info) =>
        info.Attributes?.GetValueOrDefault(EtagAttribute) is { } etag
            ? $"\"{etag}\""
            : string.Create(CultureInfo.InvariantCulture, $"\"{info.ContentId}-{info.ChunkCount}\"");

    /// <summary>NoSuchBucket when the bucket does not exist, else NoSuchKey.</summary>
    private async Task<S3Exception> MissingAsync(S3Call call) =>
        await BucketExistsAsync(call.Bucket!)
            ? S3Exception.NoSuchKey(call.Key!)
            : S3Exception.NoSuchBucket(call.Bucket!);

    private async Task DeleteObjectAsync(S3Call call)
    {
        await DeleteQuietlyAsync(call.Path, Config.S3Durability);
        call.Response.StatusCode = 204;
    }

    private async Task CopyObjectAsync(S3Call call, string copySource)
    {
        var source = Uri.UnescapeDataString(copySource).TrimStart('/');
        var question = source.IndexOf('?', StringComparison.Ordinal);
        if (question >= 0)
        {
            if (source[(question + 1)..] != "versionId=null")
            {
                throw S3Exception.NotImplemented("Copying a version (versionId)");
            }

            source = source[..question];
        }

        var slash = source.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == source.Length - 1)
        {
            throw S3Exception.InvalidArgument($"x-amz-copy-source '{copySource}' is not bucket/key");
        }

        await RequireBucketAsync(call.Bucket!);
        var info = await TryStatAsync(source) ?? throw S3Exception.NoSuchKey(source[(slash + 1)..]);
        var directive = call.Header("x-amz-metadata-directive") ?? "COPY";
        var attributes = directive switch
        {
            "COPY" => new Dictionary<string, string>(info.Attributes ?? new Dictionary<string, string>(),
                StringComparer.Ordinal),
            "REPLACE" => MetadataOf(call),
            _ => throw S3Exception.InvalidArgument("x-amz-metadata-directive must be COPY or REPLACE"),
        };
        if (info.Attributes?.GetValueOrDefault(EtagAttribute) is { } etag)
        {
            attributes[EtagAttribute] = etag;
        }

        var copied = await OnLoop(() => Node.ComposeAsync(call.Path, [info.Path], Config.S3Durability, attributes));
        await S3Xml.WriteAsync(call.Context, 200, "CopyObjectResult", w =>
        {
            w.Element("LastModified", S3Xml.Iso(LastModified(copied)));
            w.Element("ETag", EtagOf(copied));
        });
    }

    private async Task DeleteObjectsAsync(S3Call call)
    {
        var request = await S3Xml.ReadItemsAsync(OpenBody(call), "Object", itemsMax: 1000);
        if (request.Root != "Delete")
        {
            throw S3Exception.MalformedXml($"Expected a Delete document, got {request.Root}");
        }

        var quiet = request.Fields.GetValueOrDefault("Quiet") == "true";
        var results = new List<(string Key, string? Error)>();
        foreach (var item in request.Items)
        {
            var key = item.GetValueOrDefault("Key") ?? throw S3Exception.MalformedXml("An Object has no Key");
            try
            {
                await DeleteQuietlyAsync($"{call.Bucket}/{key}", Config.S3Durability);
                results.Add((key, null));
            }
            catch (Exception e)
            {
                results.Add((key, Map(e).Code + ": " + e.Message));
            }
        }

        await S3Xml.WriteAsync(call.Context, 200, "DeleteResult", w =>
        {
            foreach (var (key, error) in results)
            {
                if (error is null && quiet)
                {
                    continue;
                }

                w.WriteStartElement(error is null ? "Deleted" : "Error");
                w.Element("Key", key);
                if (error is not null)
                {
                    var colon = error.IndexOf(':', StringComparison.Ordinal);
                    w.Element("Code", error[..colon]);
                    w.Element("Message", error[(colon + 2)..]);
                }

                w.WriteEndElement();
            }
        });
    }
}
