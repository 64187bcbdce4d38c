using System.Globalization;
using System.Net;
using Amazon.S3.Model;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests.S3;

/// <summary>Signature checks the SDK cannot be made to break: hand-built aws-chunked bodies, skewed clocks.</summary>
[Trait("Category", "Real")]
[Collection("s3")]
public sealed class S3AuthTests(S3ClusterFixture cluster)
{
    private const string Streaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";

    private async Task<HttpResponseMessage> PutChunkedAsync(string key, byte[] data,
        Func<int, byte[], byte[]>? tamper = null, long? declaredLength = null) =>
        await RawS3.SendAsync(HttpMethod.Put, new Uri(cluster.S3Url(1), $"/bkt-auth/{key}"),
            (date, seed) => RawS3.ChunkedBody(data, 64 * 1024, S3ClusterFixture.Secret, date, seed, tamper),
            Streaming, new Dictionary<string, string>
            {
                ["content-encoding"] = "aws-chunked",
                ["x-amz-decoded-content-length"] =
                    (declaredLength ?? data.Length).ToString(CultureInfo.InvariantCulture),
            });

    private async Task<bool> ExistsAsync(string key)
    {
        using var s3 = cluster.Client(0);
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bkt-auth", Prefix = key });
        return listed.S3Objects?.Count > 0;
    }

    [Fact]
    public async Task Aws_chunked_bodies_are_verified_chunk_by_chunk_and_a_forged_chunk_stores_nothing()
    {
        using (var s3 = cluster.Client(1))
        {
            await s3.PutBucketAsync("bkt-auth");
        }

        var data = Nodes.RandomBytes(300 * 1024);
        using (var good = await PutChunkedAsync("good", data))
        {
            Assert.True(good.StatusCode == HttpStatusCode.OK, await good.Content.ReadAsStringAsync());
        }

        using (var get = await cluster.Client(2).GetObjectAsync("bkt-auth", "good"))
        {
            using var copy = new MemoryStream();
            await get.ResponseStream.CopyToAsync(copy);
            Assert.Equal(data, copy.ToArray());
        }

        // The third chunk's bytes changed after signing: its signature no longer matches.
        using (var forged = await PutChunkedAsync("forged", data, (index, chunk) =>
               {
                   if (index == 2)
                   {
                       chunk[7] ^= 1;
                   }

                   return chunk;
               }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
            Assert.Contains("<Code>SignatureDoesNotMatch</Code>", await forged.Content.ReadAsStringAsync());
        }

        Assert.False(await ExistsAsync("forged"), "a forged aws-chunked upload left an object behind");

        // A correctly signed body shorter than its declared decoded length is refused too.
        using (var truncated = await PutChunkedAsync("short", data[..100_000], declaredLength: data.Length))
        {
            Assert.Equal(HttpStatusCode.BadRequest, truncated.StatusCode);
            Assert.Contains("<Code>IncompleteBody</Code>", await truncated.Content.ReadAsStringAsync());
        }

        Assert.False(await ExistsAsync("short"), "a truncated aws-chunked upload left an object behind");
    }

    /// <summary>
    /// aws-chunked with an unsigned payload (STREAMING-UNSIGNED-PAYLOAD-TRAILER, the SDKs' choice over https):
    /// chunks carry no signatures, a trailer follows; the object is the decoded bytes, its ETag their MD5. A chunk
    /// longer than its size line is a clear error that stores nothing.
    /// </summary>
    [Fact]
    public async Task Unsigned_aws_chunked_bodies_are_decoded_and_a_bad_frame_stores_nothing()
    {
        using (var s3 = cluster.Client(1))
        {
            await s3.PutBucketAsync("bkt-auth-unsigned");
        }

        var data = Nodes.RandomBytes(150_000);
        static byte[] Frame(byte[] bytes, int chunkBytes, int extra)
        {
            using var body = new MemoryStream();
            for (var offset = 0; offset < bytes.Length; offset += chunkBytes)
            {
                var length = Math.Min(chunkBytes, bytes.Length - offset);
                body.Write(System.Text.Encoding.ASCII.GetBytes($"{length:x}\r\n"));
                body.Write(bytes, offset, length);
                body.Write(new byte[extra]); // Bytes the size line does not announce.
                body.Write("\r\n"u8);
            }

            body.Write("0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"u8);
            return body.ToArray();
        }

        Task<HttpResponseMessage> PutAsync(string key, byte[] body) => RawS3.SendAsync(HttpMethod.Put,
            new Uri(cluster.S3Url(0), $"/bkt-auth-unsigned/{key}"), (_, _) => body,
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER", new Dictionary<string, string>
            {
                ["content-encoding"] = "aws-chunked",
                ["x-amz-decoded-content-length"] = data.Length.ToString(CultureInfo.InvariantCulture),
                ["x-amz-trailer"] = "x-amz-checksum-crc32",
            });

        using (var good = await PutAsync("good", Frame(data, 64 * 1024, extra: 0)))
        {
            Assert.True(good.StatusCode == HttpStatusCode.OK, await good.Content.ReadAsStringAsync());
            Assert.Equal($"\"{Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(data))}\"",
                good.Headers.ETag?.Tag);
        }

        using (var get = await cluster.Client(2).GetObjectAsync("bkt-auth-unsigned", "good"))
        {
            using var copy = new MemoryStream();
            await get.ResponseStream.CopyToAsync(copy);
            Assert.Equal(data, copy.ToArray());
        }

        using (var bad = await PutAsync("bad", Frame(data, 64 * 1024, extra: 1)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("<Code>InvalidRequest</Code>", await bad.Content.ReadAsStringAsync());
        }

        using var s3Client = cluster.Client(0);
        var listed = await s3Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bkt-auth-unsigned" });
        Assert.Equal(["good"], listed.S3Objects.Select(o => o.Key));
    }

    [Fact]
    public async Task A_payload_hash_that_does_not_match_the_body_is_refused()
    {
        using (var s3 = cluster.Client(1))
        {
            await s3.PutBucketAsync("bkt-auth-sha");
        }

        using var response = await RawS3.SendAsync(HttpMethod.Put, new Uri(cluster.S3Url(0), "/bkt-auth-sha/k"),
            (_, _) => "actual body"u8.ToArray(), new string('a', 64));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("<Code>XAmzContentSHA256Mismatch</Code>", await response.Content.ReadAsStringAsync());
        using var s3Client = cluster.Client(0);
        var listed = await s3Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bkt-auth-sha" });
        Assert.Null(listed.S3Objects);
    }

    [Fact]
    public async Task A_request_signed_with_a_clock_20_minutes_off_is_RequestTimeTooSkewed()
    {
        foreach (var offset in new[] { TimeSpan.FromMinutes(-20), TimeSpan.FromMinutes(20) })
        {
            using var response = await RawS3.SendAsync(HttpMethod.Get, new Uri(cluster.S3Url(0), "/"), (_, _) => [],
                RawS3.EmptySha256, clockOffset: offset);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("<Code>RequestTimeTooSkewed</Code>", await response.Content.ReadAsStringAsync());
        }

        // 10 minutes off is inside the 15-minute limit.
        using var inside = await RawS3.SendAsync(HttpMethod.Get, new Uri(cluster.S3Url(0), "/"), (_, _) => [],
            RawS3.EmptySha256, clockOffset: TimeSpan.FromMinutes(10));
        Assert.Equal(HttpStatusCode.OK, inside.StatusCode);
    }

    [Fact]
    public async Task Virtual_host_style_names_the_bucket_in_the_host()
    {
        using (var s3 = cluster.Client(0))
        {
            await s3.PutBucketAsync("bkt-vhost");
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "bkt-vhost", Key = "a/b", ContentBody = "vh" });
        }

        var port = cluster.S3Ports[1].ToString(CultureInfo.InvariantCulture);
        using var response = await RawS3.SendAsync(HttpMethod.Get, new Uri(cluster.S3Url(1), "/a/b"), (_, _) => [],
            RawS3.EmptySha256, host: $"bkt-vhost.localhost:{port}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("vh", await response.Content.ReadAsStringAsync());
        using var listing = await RawS3.SendAsync(HttpMethod.Get, new Uri(cluster.S3Url(1), "/?list-type=2"),
            (_, _) => [], RawS3.EmptySha256, host: $"bkt-vhost.localhost:{port}");
        Assert.Contains("<Key>a/b</Key>", await listing.Content.ReadAsStringAsync());
    }
}
