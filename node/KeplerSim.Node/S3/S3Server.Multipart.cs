using System.Globalization;
using System.IO.Pipelines;
using System.Security.Cryptography;
using KeplerSim.Core.Node;
using KeplerSim.Node.Http;

namespace KeplerSim.Node.S3;

/// <summary>
/// Multipart uploads. An upload is a hidden record (<c>.kepler/s3/uploads/bucket/id/upload</c>, its key and metadata
/// as attributes) and each part a hidden file written through the ordinary write path. Complete lists the parts'
/// chunks in one new manifest (no byte copied when the parts fill whole chunks; otherwise their bytes are streamed
/// into one new write), so the object appears at once, whole, and the parts are then deleted.
/// </summary>
internal sealed partial class S3Server
{
    /// <summary>The smallest part but the last (S3's limit).</summary>
    public const long PartBytesMin = 5L * 1024 * 1024;

    /// <summary>The highest part number (S3's limit).</summary>
    public const int PartNumberMax = 10_000;

    private const string KeyAttribute = "s3-key";
    private const string InitiatedAttribute = "s3-initiated-ms";
    private const string RecordName = "upload";
    private const string PartPrefix = "part-";

    private static string UploadDirectory(string bucket, string uploadId) => $"{UploadsPrefix}{bucket}/{uploadId}/";

    private static string PartPath(string bucket, string uploadId, int number) =>
        UploadDirectory(bucket, uploadId) + PartPrefix + number.ToString("D5", CultureInfo.InvariantCulture);

    private async Task CreateUploadAsync(S3Call call)
    {
        await RequireBucketAsync(call.Bucket!);
        _ = Core.Manifests.FilePath.Parse(call.Path); // A bad key fails now, not at Complete.
        var uploadId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var attributes = MetadataOf(call);
        attributes[KeyAttribute] = call.Key!;
        attributes[InitiatedAttribute] =
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        await OnLoop(() => Node.PutAsync(UploadDirectory(call.Bucket!, uploadId) + RecordName, new MemoryStream(),
            Config.S3Durability, () => attributes));
        await S3Xml.WriteAsync(call.Context, 200, "InitiateMultipartUploadResult", w =>
        {
            w.Element("Bucket", call.Bucket!);
            w.Element("Key", call.Key!);
            w.Element("UploadId", uploadId);
        });
    }

    /// <summary>The upload's record; NoSuchUpload when it is gone or belongs to another key.</summary>
    private async Task<FileVersionInfo> RequireUploadAsync(S3Call call, string uploadId)
    {
        if (uploadId.Length != 32 || !uploadId.All(char.IsAsciiHexDigitLower))
        {
            throw S3Exception.NoSuchUpload(uploadId);
        }

        var record = await TryStatAsync(UploadDirectory(call.Bucket!, uploadId) + RecordName);
        return record is not null && Attribute(record, KeyAttribute) == call.Key
            ? record
            : throw S3Exception.NoSuchUpload(uploadId);
    }

    private async Task UploadPartAsync(S3Call call, string uploadId)
    {
        if (!int.TryParse(call.Query.Get("partNumber"), NumberStyles.None, CultureInfo.InvariantCulture,
                out var number) || number < 1 || number > PartNumberMax)
        {
            throw S3Exception.InvalidArgument($"Part number must be an integer between 1 and {PartNumberMax}");
        }

        await RequireUploadAsync(call, uploadId);
        var info = await WriteAsync(call, PartPath(call.Bucket!, uploadId, number), []);
        call.Response.Headers.ETag = EtagOf(info);
        call.Response.StatusCode = 200;
    }

    /// <summary>The upload's parts by number.</summary>
    private async Task<SortedDictionary<int, FileVersionInfo>> PartsAsync(string bucket, string uploadId)
    {
        var parts = new SortedDictionary<int, FileVersionInfo>();
        var prefix = UploadDirectory(bucket, uploadId) + PartPrefix;
        await foreach (var part in ListAllAsync(prefix))
        {
            parts[int.Parse(part.Path[prefix.Length..], CultureInfo.InvariantCulture)] = part;
        }

        return parts;
    }

    private async Task CompleteUploadAsync(S3Call call, string uploadId)
    {
        var record = await RequireUploadAsync(call, uploadId);
        var request = await S3Xml.ReadItemsAsync(OpenBody(call), "Part", PartNumberMax);
        if (request.Root != "CompleteMultipartUpload" || request.Items.Count == 0)
        {
            throw S3Exception.MalformedXml("Expected a CompleteMultipartUpload document with at least one Part");
        }

        var stored = await PartsAsync(call.Bucket!, uploadId);
        var chosen = ChooseParts(request.Items, stored);
        var attributes = new Dictionary<string, string>(record.Attributes ?? new Dictionary<string, string>(),
            StringComparer.Ordinal);
        attributes.Remove(KeyAttribute);
        attributes.Remove(InitiatedAttribute);
        attributes[EtagAttribute] = MultipartEtag(chosen);
        FileVersionInfo info;
        try
        {
            info = await OnLoop(() => Node.ComposeAsync(call.Path, [.. chosen.Select(p => p.Path)],
                Config.S3Durability, attributes));
        }
        catch (ChunksNotAlignedException)
        {
            info = await ConcatenateAsync(call.Path, chosen, attributes);
        }

        await DeleteUploadAsync(call.Bucket!, uploadId, stored.Values);
        await S3Xml.WriteAsync(call.Context, 200, "CompleteMultipartUploadResult", w =>
        {
            w.Element("Location", $"/{call.Bucket}/{call.Key}");
            w.Element("Bucket", call.Bucket!);
            w.Element("Key", call.Key!);
            w.Element("ETag", EtagOf(info));
        });
    }

    /// <summary>The parts a Complete names, checked: ascending, stored, same ETags, all but the last 5 MiB+.</summary>
    private static List<FileVersionInfo> ChooseParts(List<Dictionary<string, string>> items,
        SortedDictionary<int, FileVersionInfo> stored)
    {
        var chosen = new List<FileVersionInfo>(items.Count);
        var previous = 0;
        foreach (var item in items)
        {
            if (!int.TryParse(item.GetValueOrDefault("PartNumber"), NumberStyles.None, CultureInfo.InvariantCulture,
                    out var number) || number < 1 || number > PartNumberMax)
            {
                throw S3Exception.MalformedXml("A Part has no valid PartNumber");
            }

            if (number <= previous)
            {
                throw new S3Exception(400, "InvalidPartOrder",
                    "The list of parts was not in ascending order. The parts list must be specified in order by " +
                    "part number.");
            }

            previous = number;
            var etag = item.GetValueOrDefault("ETag")?.Trim().Trim('"');
            if (!stored.TryGetValue(number, out var part) || etag is null || EtagOf(part).Trim('"') != etag)
            {
                throw new S3Exception(400, "InvalidPart", $"Part {number} could not be found or its ETag does not " +
                    "match: upload it again or name the ETag its upload returned");
            }

            chosen.Add(part);
        }

        for (var i = 0; i < chosen.Count - 1; i++)
        {
            if (chosen[i].SizeBytes < PartBytesMin)
            {
                throw new S3Exception(400, "EntityTooSmall",
                    $"Part {items[i]["PartNumber"]} is {chosen[i].SizeBytes} bytes; every part but the last must be " +
                    $"at least {PartBytesMin} bytes");
            }
        }

        return chosen;
    }

    /// <summary>S3's multipart ETag: the MD5 of the parts' binary MD5s, a dash, the part count.</summary>
    private static string MultipartEtag(List<FileVersionInfo> parts)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        foreach (var part in parts)
        {
            md5.AppendData(Convert.FromHexString(Attribute(part, EtagAttribute)));
        }

        return $"{Convert.ToHexStringLower(md5.GetHashAndReset())}-{parts.Count}";
    }

    /// <summary>
    /// Streams the parts' bytes, in order, into one new write (parts that do not fill whole chunks cannot share
    /// them): core reads them from the parts on the loop and writes them through a pipe, memory bounded by the pipe.
    /// </summary>
    private async Task<FileVersionInfo> ConcatenateAsync(string path, List<FileVersionInfo> parts,
        Dictionary<string, string> attributes)
    {
        var pipe = new Pipe();
        var source = new LoopReadStream(_host.Loop, pipe.Reader.AsStream(), null, _ => { });
        var write = OnLoop(() => Node.PutAsync(path, source, Config.S3Durability, () => attributes));
        try
        {
            var sink = new LoopWriteStream(_host.Loop, pipe.Writer.AsStream(), _ => { });
            foreach (var part in parts)
            {
                await OnLoop(() => Node.GetAsync(part.Path, sink, 0, null, part.Version));
            }

            await pipe.Writer.CompleteAsync();
        }
        catch (Exception e)
        {
            await pipe.Writer.CompleteAsync(e);
        }

        return await write;
    }

    private async Task DeleteUploadAsync(string bucket, string uploadId, IEnumerable<FileVersionInfo> parts)
    {
        foreach (var part in parts)
        {
            await DeleteQuietlyAsync(part.Path, Core.Node.Durability.Fast);
        }

        await DeleteQuietlyAsync(UploadDirectory(bucket, uploadId) + RecordName, Core.Node.Durability.Fast);
    }

    private async Task AbortUploadAsync(S3Call call, string uploadId)
    {
        await RequireUploadAsync(call, uploadId);
        await DeleteUploadAsync(call.Bucket!, uploadId, (await PartsAsync(call.Bucket!, uploadId)).Values);
        call.Response.StatusCode = 204;
    }

    /// <summary>
    /// One page of the upload's parts in number order: those after <c>part-number-marker</c>, at most
    /// <c>max-parts</c> (default and most 1000); <c>NextPartNumberMarker</c> says where the next page starts.
    /// </summary>
    private async Task ListPartsAsync(S3Call call, string uploadId)
    {
        await RequireUploadAsync(call, uploadId);
        var maxParts = call.Query.PageSize("max-parts");
        var marker = call.Query.Count("part-number-marker") ?? 0;
        var parts = (await PartsAsync(call.Bucket!, uploadId)).Where(p => p.Key > marker).ToList();
        var page = parts.Take(maxParts).ToList();
        await S3Xml.WriteAsync(call.Context, 200, "ListPartsResult", w =>
        {
            w.Element("Bucket", call.Bucket!);
            w.Element("Key", call.Key!);
            w.Element("UploadId", uploadId);
            w.Element("PartNumberMarker", marker);
            if (page.Count > 0)
            {
                w.Element("NextPartNumberMarker", page[^1].Key);
            }

            w.Element("MaxParts", maxParts);
            w.Element("IsTruncated", page.Count > 0 && parts.Count > page.Count);
            foreach (var (number, part) in page)
            {
                w.WriteStartElement("Part");
                w.Element("PartNumber", number);
                w.Element("LastModified", S3Xml.Iso(LastModified(part)));
                w.Element("ETag", EtagOf(part));
                w.Element("Size", part.SizeBytes);
                w.WriteEndElement();
            }

            w.Element("StorageClass", "STANDARD");
        });
    }

    /// <summary>
    /// One page of the bucket's open uploads under <c>prefix</c>, ordered by key then upload id: those after
    /// <c>key-marker</c> (with <c>upload-id-marker</c>: after that upload of that key), at most <c>max-uploads</c>
    /// (default and most 1000); <c>NextKeyMarker</c> and <c>NextUploadIdMarker</c> say where the next page starts.
    /// </summary>
    private async Task ListUploadsAsync(S3Call call)
    {
        await RequireBucketAsync(call.Bucket!);
        var query = call.Query;
        var prefix = query.Get("prefix") ?? "";
        var maxUploads = query.PageSize("max-uploads");
        var keyMarker = query.Get("key-marker") is { Length: > 0 } k ? k : null;
        // As S3: the upload id marker only counts together with a key marker.
        var idMarker = keyMarker is null ? null : query.Get("upload-id-marker") ?? "";
        var uploads = (await UploadsAsync(call.Bucket!, prefix))
            .Where(u => keyMarker is null || After(u.Key, u.Id, keyMarker, idMarker!))
            .ToList();
        var page = uploads.Take(maxUploads).ToList();
        await S3Xml.WriteAsync(call.Context, 200, "ListMultipartUploadsResult", w =>
        {
            w.Element("Bucket", call.Bucket!);
            w.Element("KeyMarker", keyMarker ?? "");
            w.Element("UploadIdMarker", keyMarker is null ? "" : idMarker!);
            if (page.Count > 0)
            {
                w.Element("NextKeyMarker", page[^1].Key);
                w.Element("NextUploadIdMarker", page[^1].Id);
            }

            w.Element("Prefix", prefix);
            w.Element("MaxUploads", maxUploads);
            w.Element("IsTruncated", page.Count > 0 && uploads.Count > page.Count);
            foreach (var (key, id, initiated) in page)
            {
                w.WriteStartElement("Upload");
                w.Element("Key", key);
                w.Element("UploadId", id);
                WriteOwner(w);
                w.Element("StorageClass", "STANDARD");
                w.Element("Initiated", S3Xml.Iso(initiated));
                w.WriteEndElement();
            }
        });
    }

    /// <summary>Whether an upload sorts after the markers: a later key, or the marker's key and a later id.</summary>
    private static bool After(string key, string id, string keyMarker, string idMarker)
    {
        var byKey = string.CompareOrdinal(key, keyMarker);
        return byKey > 0 || (byKey == 0 && string.CompareOrdinal(id, idMarker) > 0);
    }

    /// <summary>The bucket's open uploads whose key starts with <paramref name="prefix"/>, by key then id.</summary>
    private async Task<List<(string Key, string Id, DateTimeOffset Initiated)>> UploadsAsync(string bucket,
        string prefix)
    {
        var uploads = new List<(string Key, string Id, DateTimeOffset Initiated)>();
        var root = UploadsPrefix + bucket + "/";
        await foreach (var file in ListAllAsync(root))
        {
            var key = Attribute(file, KeyAttribute);
            if (file.Path.EndsWith("/" + RecordName, StringComparison.Ordinal)
                && key.StartsWith(prefix, StringComparison.Ordinal))
            {
                uploads.Add((key, file.Path[root.Length..^(RecordName.Length + 1)], InitiatedOf(file)));
            }
        }

        return [.. uploads.OrderBy(u => u.Key, StringComparer.Ordinal).ThenBy(u => u.Id, StringComparer.Ordinal)];
    }

    private static DateTimeOffset InitiatedOf(FileVersionInfo record) =>
        long.TryParse(Attribute(record, InitiatedAttribute), NumberStyles.None, CultureInfo.InvariantCulture,
            out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : LastModified(record);

    /// <summary>
    /// Deletes uploads older than S3_UPLOAD_EXPIRY (every node sweeps; deleting twice is harmless): checked every
    /// half expiry, at least every minute and at most every second.
    /// </summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var expiry = TimeSpan.FromSeconds(Config.S3UploadExpirySeconds);
        var period = TimeSpan.FromSeconds(Math.Clamp(Config.S3UploadExpirySeconds / 2.0, 1, 60));
        using var timer = new PeriodicTimer(period);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            if (!Node.Ready.IsCompletedSuccessfully || _host.Draining)
            {
                continue;
            }

            try
            {
                await SweepOnceAsync(DateTimeOffset.UtcNow - expiry);
            }
            catch (Exception e) when (e is DurabilityNotMetException or ChunkUnavailableException
                or FileNotFoundInClusterException or IOException)
            {
                _log.S3ClientError("SWEEP", UploadsPrefix, 503, "SweepFailed", e.Message); // Retried next period.
            }
        }
    }

    private async Task SweepOnceAsync(DateTimeOffset cutoff)
    {
        var expired = new List<FileVersionInfo>();
        await foreach (var file in ListAllAsync(UploadsPrefix))
        {
            if (file.Path.EndsWith("/" + RecordName, StringComparison.Ordinal) && InitiatedOf(file) < cutoff)
            {
                expired.Add(file);
            }
        }

        foreach (var record in expired)
        {
            var directory = record.Path[..^RecordName.Length];
            var parts = new List<FileVersionInfo>();
            await foreach (var part in ListAllAsync(directory + PartPrefix))
            {
                parts.Add(part);
            }

            foreach (var part in parts)
            {
                await DeleteQuietlyAsync(part.Path, Core.Node.Durability.Fast);
            }

            await DeleteQuietlyAsync(record.Path, Core.Node.Durability.Fast);
            _log.UploadExpired(directory, parts.Count);
        }
    }
}
