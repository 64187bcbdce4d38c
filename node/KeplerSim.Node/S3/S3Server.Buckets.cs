using System.Text;
using System.Xml;
using KeplerSim.Core.Node;

namespace KeplerSim.Node.S3;

internal sealed partial class S3Server
{
    /// <summary>Sorts after every key that starts with a prefix: resuming after prefix + this skips them all.</summary>
    private const string AfterAll = "\U0010FFFF";

    private const string Owner = "kepler";

    private async Task<bool> BucketExistsAsync(string bucket) =>
        await TryStatAsync(BucketsPrefix + bucket) is not null
        || (await OnLoop(() => Node.ListAsync(bucket + "/", null, 1))).Files.Count > 0;

    private async Task RequireBucketAsync(string bucket)
    {
        if (!await BucketExistsAsync(bucket))
        {
            throw S3Exception.NoSuchBucket(bucket);
        }
    }

    private async Task CreateBucketAsync(S3Call call)
    {
        await OpenBody(call).CopyToAsync(Stream.Null); // CreateBucketConfiguration: any region is this cluster.
        var marker = BucketsPrefix + call.Bucket;
        if (await TryStatAsync(marker) is not null)
        {
            throw new S3Exception(409, "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.");
        }

        await OnLoop(() => Node.PutAsync(marker, new MemoryStream(), Config.S3Durability));
        call.Response.Headers.Location = "/" + call.Bucket;
        call.Response.StatusCode = 200;
    }

    private async Task HeadBucketAsync(S3Call call) =>
        call.Response.StatusCode = await BucketExistsAsync(call.Bucket!)
            ? 200
            : throw S3Exception.NoSuchBucket(call.Bucket!);

    private async Task DeleteBucketAsync(S3Call call)
    {
        var bucket = call.Bucket!;
        if ((await OnLoop(() => Node.ListAsync(bucket + "/", null, 1))).Files.Count > 0)
        {
            throw new S3Exception(409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
        }

        try
        {
            await OnLoop(() => Node.DeleteAsync(BucketsPrefix + bucket, Config.S3Durability));
        }
        catch (FileNotFoundInClusterException)
        {
            throw S3Exception.NoSuchBucket(bucket);
        }

        call.Response.StatusCode = 204;
    }

    private async Task GetBucketLocationAsync(S3Call call)
    {
        await RequireBucketAsync(call.Bucket!);
        await S3Xml.WriteAsync(call.Context, 200, "LocationConstraint", _ => { });
    }

    private async Task ListBucketsAsync(S3Call call)
    {
        var buckets = new SortedDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        await foreach (var marker in ListAllAsync(BucketsPrefix))
        {
            buckets[marker.Path[BucketsPrefix.Length..]] = LastModified(marker);
        }

        // Top-level directories written through the native API are buckets too: one listing call per directory.
        // A page of one that comes back empty stepped over a hidden or deleted path: resume after it (past the
        // whole hidden prefix at once).
        string? after = null;
        while (true)
        {
            var from = after;
            var page = await OnLoop(() => Node.ListAsync("", from, 1));
            if (page.Files is [var first])
            {
                var slash = first.Path.IndexOf('/', StringComparison.Ordinal);
                var top = slash < 0 ? first.Path : first.Path[..slash];
                if (slash > 0)
                {
                    buckets.TryAdd(top, LastModified(first));
                }

                after = slash < 0 ? first.Path : top + "/" + AfterAll;
            }
            else if (page.Next is { } next)
            {
                after = next.StartsWith(KeplerNode.HiddenPrefix, StringComparison.Ordinal)
                    ? KeplerNode.HiddenPrefix + AfterAll
                    : next;
            }
            else
            {
                break;
            }
        }

        await S3Xml.WriteAsync(call.Context, 200, "ListAllMyBucketsResult", w =>
        {
            WriteOwner(w);
            w.WriteStartElement("Buckets");
            foreach (var (name, created) in buckets)
            {
                w.WriteStartElement("Bucket");
                w.Element("Name", name);
                w.Element("CreationDate", S3Xml.Iso(created));
                w.WriteEndElement();
            }

            w.WriteEndElement();
        });
    }

    private static void WriteOwner(XmlWriter writer)
    {
        writer.WriteStartElement("Owner");
        writer.Element("ID", Owner);
        writer.Element("DisplayName", Owner);
        writer.WriteEndElement();
    }

    private async Task ListObjectsAsync(S3Call call, bool version2)
    {
        var bucket = call.Bucket!;
        await RequireBucketAsync(bucket);
        var query = call.Query;
        var prefix = query.Get("prefix") ?? "";
        var delimiter = query.Get("delimiter") is { Length: > 0 } d ? d : null;
        var maxKeys = query.PageSize("max-keys");
        var token = version2 ? query.Get("continuation-token") : null;
        var start = version2 ? DecodeToken(token) ?? query.Get("start-after") : query.Get("marker");
        if (start is not null && delimiter is not null && start.EndsWith(delimiter, StringComparison.Ordinal))
        {
            start += AfterAll; // A common prefix returned before: skip every key under it.
        }

        var page = await ListPageAsync(bucket, prefix, delimiter, maxKeys, start);
        var url = query.Get("encoding-type") == "url";
        string Out(string text) => url ? S3Query.Encode(text, keepSlash: true) : text;
        await S3Xml.WriteAsync(call.Context, 200, "ListBucketResult", w =>
        {
            w.Element("Name", bucket);
            w.Element("Prefix", Out(prefix));
            if (delimiter is not null)
            {
                w.Element("Delimiter", Out(delimiter));
            }

            w.Element("MaxKeys", maxKeys);
            if (url)
            {
                w.Element("EncodingType", "url");
            }

            w.Element("IsTruncated", page.Resume is not null);
            if (version2)
            {
                w.Element("KeyCount", page.Contents.Count + page.Prefixes.Count);
                if (token is not null)
                {
                    w.Element("ContinuationToken", token);
                }

                if (query.Get("start-after") is { } startAfter)
                {
                    w.Element("StartAfter", Out(startAfter));
                }

                if (page.Resume is not null)
                {
                    w.Element("NextContinuationToken", EncodeToken(page.Resume));
                }
            }
            else
            {
                w.Element("Marker", Out(query.Get("marker") ?? ""));
                if (page.Resume is not null && delimiter is not null)
                {
                    w.Element("NextMarker", Out(page.Last!));
                }
            }

            WriteEntries(w, bucket, page, owner: !version2 || query.Get("fetch-owner") == "true", Out);
        });
    }

    private static void WriteEntries(XmlWriter w, string bucket, ListPage page, bool owner,
        Func<string, string> encode)
    {
        foreach (var file in page.Contents)
        {
            w.WriteStartElement("Contents");
            w.Element("Key", encode(file.Path[(bucket.Length + 1)..]));
            w.Element("LastModified", S3Xml.Iso(LastModified(file)));
            w.Element("ETag", EtagOf(file));
            w.Element("Size", file.SizeBytes);
            if (owner)
            {
                WriteOwner(w);
            }

            w.Element("StorageClass", "STANDARD");
            w.WriteEndElement();
        }

        foreach (var common in page.Prefixes)
        {
            w.WriteStartElement("CommonPrefixes");
            w.Element("Prefix", encode(common));
            w.WriteEndElement();
        }
    }

    /// <summary>
    /// One page of a bucket listing: keys and common prefixes in key order, at most <paramref name="maxKeys"/>
    /// together, and where the next page resumes (null when this is the last).
    /// </summary>
    private async Task<ListPage> ListPageAsync(string bucket, string prefix, string? delimiter, int maxKeys,
        string? start)
    {
        var root = bucket + "/";
        var contents = new List<FileVersionInfo>();
        var prefixes = new List<string>();
        string? cursor = start is null ? null : root + start;
        string? last = null;
        while (true)
        {
            var from = cursor;
            var listing = await OnLoop(() => Node.ListAsync(root + prefix, from, 1000));
            var skipped = false;
            foreach (var file in listing.Files)
            {
                var key = file.Path[root.Length..];
                var cut = delimiter is null ? -1 : key.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                if (contents.Count + prefixes.Count >= maxKeys)
                {
                    return new ListPage(contents, prefixes, last, last is null ? null : ResumeAfter(last, delimiter));
                }

                if (cut >= 0)
                {
                    last = key[..(cut + delimiter!.Length)];
                    prefixes.Add(last);
                    cursor = root + last + AfterAll;
                    skipped = true;
                    break;
                }

                contents.Add(file);
                last = key;
                cursor = file.Path;
            }

            if (!skipped && listing.Next is null)
            {
                return new ListPage(contents, prefixes, last, null);
            }

            cursor = skipped ? cursor : listing.Next;
        }
    }

    private static string ResumeAfter(string last, string? delimiter) =>
        delimiter is not null && last.EndsWith(delimiter, StringComparison.Ordinal) ? last + AfterAll : last;

    private static string EncodeToken(string resume) => Convert.ToBase64String(Encoding.UTF8.GetBytes(resume));

    private static string? DecodeToken(string? token)
    {
        if (token is null)
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            throw S3Exception.InvalidArgument("The continuation token provided is incorrect");
        }
    }

    private sealed record ListPage(List<FileVersionInfo> Contents, List<string> Prefixes, string? Last,
        string? Resume);
}
