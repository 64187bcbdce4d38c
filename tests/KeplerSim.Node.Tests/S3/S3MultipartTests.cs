using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests.S3;

/// <summary>Multipart uploads and presigned URLs through the AWS SDK against three real node processes.</summary>
[Trait("Category", "Real")]
[Collection("s3")]
public sealed class S3MultipartTests(S3ClusterFixture cluster)
{
    private const int MiB = 1024 * 1024;

    private static async Task<List<PartETag>> UploadPartsAsync(AmazonS3Client s3, string bucket, string key,
        string uploadId, byte[] data, int partBytes)
    {
        var etags = new List<PartETag>();
        for (int offset = 0, number = 1; offset < data.Length; offset += partBytes, number++)
        {
            var length = Math.Min(partBytes, data.Length - offset);
            var part = await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket, Key = key, UploadId = uploadId, PartNumber = number,
                InputStream = new MemoryStream(data, offset, length), PartSize = length,
            });
            etags.Add(new PartETag(number, part.ETag));
        }

        return etags;
    }

    private static string MultipartEtag(byte[] data, int partBytes)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var count = 0;
        for (var offset = 0; offset < data.Length; offset += partBytes, count++)
        {
            md5.AppendData(MD5.HashData(data.AsSpan(offset, Math.Min(partBytes, data.Length - offset))));
        }

        return $"\"{Convert.ToHexStringLower(md5.GetHashAndReset())}-{count}\"";
    }

    private async Task<List<string>> NativeListingAsync(int node)
    {
        using var http = Nodes.Client(cluster.HttpUrl(node));
        var json = await Nodes.JsonAsync(await http.GetAsync("api/files/"));
        return [.. json.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()!)];
    }

    /// <summary>
    /// 100 MiB in 8 MiB parts (whole 4 MiB chunks: Complete composes the parts' chunks without copying) through
    /// node 1, read back through node 2; while the upload is open its parts show in neither API's listing.
    /// </summary>
    [Fact]
    public async Task A_100_MiB_multipart_upload_through_one_node_reads_back_through_another()
    {
        using var s3 = cluster.Client(0);
        await s3.PutBucketAsync("bkt-mpu");
        var data = Nodes.RandomBytes(100 * MiB);
        var created = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = "bkt-mpu", Key = "big/object.bin", ContentType = "application/x-big",
            Metadata = { ["origin"] = "multipart" },
        });
        var parts = await UploadPartsAsync(s3, "bkt-mpu", "big/object.bin", created.UploadId, data, 8 * MiB);
        Assert.Equal(13, parts.Count);

        var listed = await s3.ListPartsAsync("bkt-mpu", "big/object.bin", created.UploadId);
        Assert.Equal(Enumerable.Range(1, 13), listed.Parts.Select(p => p.PartNumber!.Value));
        var uploads = await s3.ListMultipartUploadsAsync("bkt-mpu");
        Assert.Contains(uploads.MultipartUploads, u => u.UploadId == created.UploadId && u.Key == "big/object.bin");
        // Nothing partial is visible: no object yet, no part in either API's listing.
        Assert.Null((await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bkt-mpu" })).S3Objects);
        Assert.DoesNotContain(await NativeListingAsync(1), p => p.Contains("object.bin", StringComparison.Ordinal)
            || p.StartsWith(".kepler", StringComparison.Ordinal));

        var done = await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "bkt-mpu", Key = "big/object.bin", UploadId = created.UploadId, PartETags = parts,
        });
        Assert.Equal(MultipartEtag(data, 8 * MiB), done.ETag);

        using var reader = cluster.Client(1);
        using (var get = await reader.GetObjectAsync("bkt-mpu", "big/object.bin"))
        {
            Assert.Equal(data.Length, get.ContentLength);
            Assert.Equal(SHA256.HashData(data), await SHA256.HashDataAsync(get.ResponseStream));
            Assert.Equal(done.ETag, get.ETag);
            Assert.Equal("application/x-big", get.Headers.ContentType);
            Assert.Equal("multipart", get.Metadata["origin"]);
        }

        // The upload and its parts are gone.
        await Assert.ThrowsAnyAsync<AmazonS3Exception>(() =>
            s3.ListPartsAsync("bkt-mpu", "big/object.bin", created.UploadId));
        Assert.Empty((await s3.ListMultipartUploadsAsync("bkt-mpu")).MultipartUploads ?? []);
    }

    /// <summary>5 MiB parts do not fill whole 4 MiB chunks: Complete streams the parts into one new write.</summary>
    [Fact]
    public async Task Parts_that_do_not_fill_whole_chunks_are_concatenated()
    {
        using var s3 = cluster.Client(2);
        await s3.PutBucketAsync("bkt-mpu-odd");
        var data = Nodes.RandomBytes(12 * MiB + 5);
        var created = await s3.InitiateMultipartUploadAsync("bkt-mpu-odd", "odd");
        var parts = await UploadPartsAsync(s3, "bkt-mpu-odd", "odd", created.UploadId, data, 5 * MiB);
        var done = await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
        {
            BucketName = "bkt-mpu-odd", Key = "odd", UploadId = created.UploadId, PartETags = parts,
        });
        Assert.Equal(MultipartEtag(data, 5 * MiB), done.ETag);
        using var get = await cluster.Client(0).GetObjectAsync("bkt-mpu-odd", "odd");
        Assert.Equal(SHA256.HashData(data), await SHA256.HashDataAsync(get.ResponseStream));
    }

    [Fact]
    public async Task Bad_completes_fail_clearly_and_nothing_partial_is_visible_and_abort_cleans_up()
    {
        using var s3 = cluster.Client(1);
        await s3.PutBucketAsync("bkt-mpu-bad");
        var data = Nodes.RandomBytes(11 * MiB);
        var created = await s3.InitiateMultipartUploadAsync("bkt-mpu-bad", "k");
        var parts = await UploadPartsAsync(s3, "bkt-mpu-bad", "k", created.UploadId, data, 5 * MiB);

        async Task<string> CompleteFailsAsync(List<PartETag> named)
        {
            var error = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.CompleteMultipartUploadAsync(
                new CompleteMultipartUploadRequest
                {
                    BucketName = "bkt-mpu-bad", Key = "k", UploadId = created.UploadId, PartETags = named,
                }));
            Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
            return error.ErrorCode;
        }

        // The SDK sorts the parts it sends; a client that does not gets InvalidPartOrder.
        var outOfOrder = string.Concat(new[] { parts[1], parts[0], parts[2] }.Select(p =>
            $"<Part><PartNumber>{p.PartNumber}</PartNumber><ETag>{p.ETag}</ETag></Part>"));
        using (var response = await RawS3.SendAsync(HttpMethod.Post,
                   new Uri(cluster.S3Url(1), $"/bkt-mpu-bad/k?uploadId={created.UploadId}"),
                   System.Text.Encoding.UTF8.GetBytes(
                       $"<CompleteMultipartUpload>{outOfOrder}</CompleteMultipartUpload>")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("<Code>InvalidPartOrder</Code>", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal("InvalidPart", await CompleteFailsAsync([parts[0], new PartETag(2, parts[1].ETag),
            new PartETag(7, parts[2].ETag)]));
        Assert.Equal("InvalidPart", await CompleteFailsAsync([parts[0], new PartETag(2, "\"0123\""), parts[2]]));
        await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectMetadataAsync("bkt-mpu-bad", "k"));

        await s3.AbortMultipartUploadAsync("bkt-mpu-bad", "k", created.UploadId);
        var gone = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.UploadPartAsync(new UploadPartRequest
        {
            BucketName = "bkt-mpu-bad", Key = "k", UploadId = created.UploadId, PartNumber = 4,
            InputStream = new MemoryStream(data, 0, 10),
        }));
        Assert.Equal("NoSuchUpload", gone.ErrorCode);
        Assert.Empty((await s3.ListMultipartUploadsAsync("bkt-mpu-bad")).MultipartUploads ?? []);
        Assert.DoesNotContain(await NativeListingAsync(0), p => p.StartsWith("bkt-mpu-bad", StringComparison.Ordinal));
        // No part file is left behind under the hidden prefix either.
        using var http = Nodes.Client(cluster.HttpUrl(0));
        var hidden = await Nodes.JsonAsync(await http.GetAsync($"api/files/?prefix=.kepler/s3/uploads/bkt-mpu-bad/"));
        Assert.Empty(hidden.GetProperty("files").EnumerateArray());
    }

    [Fact]
    public async Task Presigned_put_and_get_work_until_they_expire()
    {
        using var s3 = cluster.Client(0);
        await s3.PutBucketAsync("bkt-presign");
        var putUrl = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = "bkt-presign", Key = "shared.txt", Verb = HttpVerb.PUT,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Protocol = Protocol.HTTP,
        });
        using var http = new HttpClient();
        using (var put = await http.PutAsync(putUrl, new ByteArrayContent("presigned body"u8.ToArray())))
        {
            Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }

        var getUrl = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = "bkt-presign", Key = "shared.txt", Verb = HttpVerb.GET,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Protocol = Protocol.HTTP,
        });
        Assert.Equal("presigned body", await http.GetStringAsync(getUrl));

        // A URL valid for 2 s is refused once they have passed (waited for, bounded).
        var shortLived = await s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = "bkt-presign", Key = "shared.txt", Verb = HttpVerb.GET, Protocol = Protocol.HTTP,
            Expires = DateTime.UtcNow.AddSeconds(2),
        });
        var body = "";
        await Wait.WaitUntil(async () =>
        {
            using var refused = await http.GetAsync(shortLived);
            body = await refused.Content.ReadAsStringAsync();
            return refused.StatusCode == HttpStatusCode.Forbidden;
        }, TimeSpan.FromSeconds(20), "the presigned URL to expire");
        Assert.Contains("<Code>AccessDenied</Code>", body);
        Assert.Contains("expired", body);

        // A tampered URL (another key) does not match its signature.
        using var tampered = await http.GetAsync(getUrl.Replace("shared.txt", "other.txt", StringComparison.Ordinal));
        Assert.Contains("<Code>SignatureDoesNotMatch</Code>", await tampered.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Malformed_xml_and_a_wrong_content_md5_are_clear_errors_that_store_nothing()
    {
        using var s3 = cluster.Client(0);
        await s3.PutBucketAsync("bkt-bad-input");
        var created = await s3.InitiateMultipartUploadAsync("bkt-bad-input", "x");
        var url = new Uri(cluster.S3Url(0), $"/bkt-bad-input/x?uploadId={created.UploadId}");
        using var malformed = await RawS3.SendAsync(HttpMethod.Post, url,
            "<CompleteMultipartUpload><Part>"u8.ToArray());
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Contains("<Code>MalformedXML</Code>", await malformed.Content.ReadAsStringAsync());

        var error = await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "bkt-bad-input", Key = "md5", ContentBody = "some body",
            MD5Digest = Convert.ToBase64String(MD5.HashData("another body"u8)),
        }));
        Assert.Equal("BadDigest", error.ErrorCode);
        await Assert.ThrowsAnyAsync<AmazonS3Exception>(() => s3.GetObjectMetadataAsync("bkt-bad-input", "md5"));
        await s3.AbortMultipartUploadAsync("bkt-bad-input", "x", created.UploadId);
    }

    /// <summary>
    /// ListParts and ListMultipartUploads page as S3 does (IsTruncated and the Next*Marker fields), so a client
    /// pages through more than one page with a small maximum; bad values are InvalidArgument. Until the paging
    /// existed both answered every entry in one page whatever max-parts or max-uploads said.
    /// </summary>
    [Fact]
    public async Task ListParts_and_ListMultipartUploads_page_through_with_markers()
    {
        using var s3 = cluster.Client(1);
        await s3.PutBucketAsync("bkt-mpu-pages");
        var first = await s3.InitiateMultipartUploadAsync("bkt-mpu-pages", "paged");
        for (var number = 1; number <= 7; number++)
        {
            // Parts this small are refused only by Complete (every part but the last must be 5 MiB).
            await s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = "bkt-mpu-pages", Key = "paged", UploadId = first.UploadId, PartNumber = number,
                InputStream = new MemoryStream(Nodes.RandomBytes(100)),
            });
        }

        var pages = new List<List<int>>();
        ListPartsResponse parts;
        string? partMarker = null;
        do
        {
            parts = await s3.ListPartsAsync(new ListPartsRequest
            {
                BucketName = "bkt-mpu-pages", Key = "paged", UploadId = first.UploadId, MaxParts = 3,
                PartNumberMarker = partMarker,
            });
            Assert.Equal(3, parts.MaxParts);
            pages.Add([.. parts.Parts.Select(p => p.PartNumber!.Value)]);
            partMarker = parts.NextPartNumberMarker?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        while (parts.IsTruncated == true && pages.Count < 10);
        Assert.Equal([[1, 2, 3], [4, 5, 6], [7]], pages);

        // Five uploads, two of them of one key: ordered by key then upload id, two a page, resumed by both markers.
        var keys = new[] { "paged", "b/one", "a/two", "a/two", "c" };
        var ids = new List<(string Key, string Id)> { ("paged", first.UploadId) };
        foreach (var key in keys.Skip(1))
        {
            ids.Add((key, (await s3.InitiateMultipartUploadAsync("bkt-mpu-pages", key)).UploadId));
        }

        var listed = new List<(string Key, string Id)>();
        var uploadPages = 0;
        ListMultipartUploadsResponse uploads;
        string? keyMarker = null, idMarker = null;
        do
        {
            uploads = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest
            {
                BucketName = "bkt-mpu-pages", MaxUploads = 2, KeyMarker = keyMarker, UploadIdMarker = idMarker,
            });
            Assert.InRange(uploads.MultipartUploads?.Count ?? 0, 1, 2);
            listed.AddRange(uploads.MultipartUploads!.Select(u => (u.Key, u.UploadId)));
            (keyMarker, idMarker) = (uploads.NextKeyMarker, uploads.NextUploadIdMarker);
            uploadPages++;
        }
        while (uploads.IsTruncated == true && uploadPages < 10);
        Assert.Equal(3, uploadPages);
        Assert.Equal(ids.OrderBy(u => u.Key, StringComparer.Ordinal).ThenBy(u => u.Id, StringComparer.Ordinal),
            listed);
        var underA = await s3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest
        {
            BucketName = "bkt-mpu-pages", Prefix = "a/", MaxUploads = 1,
        });
        Assert.True(underA.IsTruncated);
        Assert.Equal("a/two", Assert.Single(underA.MultipartUploads).Key);

        foreach (var bad in new[] { "max-parts=-1", "max-parts=lots", "part-number-marker=x" })
        {
            await AssertInvalidArgumentAsync($"/bkt-mpu-pages/paged?uploadId={first.UploadId}&{bad}");
        }

        await AssertInvalidArgumentAsync("/bkt-mpu-pages?uploads&max-uploads=-2");
        await AssertInvalidArgumentAsync("/bkt-mpu-pages?uploads&max-uploads=99999999999");
        foreach (var (key, id) in ids)
        {
            await s3.AbortMultipartUploadAsync("bkt-mpu-pages", key, id);
        }
    }

    private async Task AssertInvalidArgumentAsync(string pathAndQuery)
    {
        using var response = await RawS3.SendAsync(HttpMethod.Get, new Uri(cluster.S3Url(1), pathAndQuery), []);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{pathAndQuery}: {body}");
        Assert.Contains("<Code>InvalidArgument</Code>", body);
    }
}
