using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests.S3;

/// <summary>The S3 API through the AWS SDK for .NET against three real node processes.</summary>
[Trait("Category", "Real")]
[Collection("s3")]
public sealed class S3SdkTests(S3ClusterFixture cluster)
{
    private static async Task<byte[]> ReadAllAsync(GetObjectResponse response)
    {
        using var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static async Task<AmazonS3Exception> FailsAsync(Func<Task> call, HttpStatusCode status, string? code)
    {
        var error = await Assert.ThrowsAnyAsync<AmazonS3Exception>(call);
        Assert.Equal(status, error.StatusCode);
        if (code is not null)
        {
            Assert.Equal(code, error.ErrorCode);
        }

        return error;
    }

    [Fact]
    public async Task Buckets_are_created_listed_located_and_deleted_only_when_empty()
    {
        using var s3 = cluster.Client(0);
        await s3.PutBucketAsync("bkt-life");
        await FailsAsync(() => s3.PutBucketAsync("bkt-life"), HttpStatusCode.Conflict, "BucketAlreadyOwnedByYou");
        using var other = cluster.Client(1);
        var buckets = await other.ListBucketsAsync();
        Assert.Contains(buckets.Buckets, b => b.BucketName == "bkt-life");
        var location = await other.GetBucketLocationAsync("bkt-life");
        Assert.Equal(HttpStatusCode.OK, location.HttpStatusCode);
        await other.PutObjectAsync(new PutObjectRequest { BucketName = "bkt-life", Key = "x", ContentBody = "x" });
        await FailsAsync(() => s3.DeleteBucketAsync("bkt-life"), HttpStatusCode.Conflict, "BucketNotEmpty");
        await s3.DeleteObjectAsync("bkt-life", "x");
        await s3.DeleteBucketAsync("bkt-life");
        // Read through the node that deleted it: a quorum delete may reach the third node a moment later.
        await FailsAsync(() => s3.GetBucketLocationAsync("bkt-life"), HttpStatusCode.NotFound, "NoSuchBucket");
        await FailsAsync(() => s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "no-such-bucket", Key = "k", ContentBody = "x",
        }), HttpStatusCode.NotFound, "NoSuchBucket");
        await FailsAsync(() => s3.PutBucketAsync("Bad_Name"), HttpStatusCode.BadRequest, "InvalidBucketName");
    }

    [Fact]
    public async Task Put_get_head_delete_keep_type_metadata_and_md5_etag_across_nodes_and_apis()
    {
        using var s3 = cluster.Client(0);
        await s3.PutBucketAsync("bkt-objects");
        var data = Nodes.RandomBytes(9 * 1024 * 1024 + 17);
        var put = new PutObjectRequest
        {
            BucketName = "bkt-objects", Key = "dir/file one.bin", InputStream = new MemoryStream(data),
            ContentType = "application/x-test",
        };
        put.Metadata.Add("colour", "blue");
        var putResponse = await s3.PutObjectAsync(put);
        var md5 = Convert.ToHexStringLower(MD5.HashData(data));
        Assert.Equal($"\"{md5}\"", putResponse.ETag);

        using var reader = cluster.Client(2);
        using (var get = await reader.GetObjectAsync("bkt-objects", "dir/file one.bin"))
        {
            Assert.Equal(data, await ReadAllAsync(get));
            Assert.Equal($"\"{md5}\"", get.ETag);
            Assert.Equal("application/x-test", get.Headers.ContentType);
            Assert.Equal("blue", get.Metadata["colour"]);
        }

        var head = await reader.GetObjectMetadataAsync("bkt-objects", "dir/file one.bin");
        Assert.Equal(data.Length, head.ContentLength);
        Assert.Equal("blue", head.Metadata["x-amz-meta-colour"]);
        Assert.True(DateTime.UtcNow - head.LastModified!.Value.ToUniversalTime() < TimeSpan.FromMinutes(5));

        // The same file through the native API, and a native file through S3.
        using var http = Nodes.Client(cluster.HttpUrl(1));
        Assert.Equal(data, await http.GetByteArrayAsync("api/files/bkt-objects/dir/file%20one.bin"));
        using (var native = await http.PutAsync("api/files/bkt-objects/native.txt", new StringContent("native")))
        {
            Assert.Equal(HttpStatusCode.OK, native.StatusCode);
        }

        using (var get = await s3.GetObjectAsync("bkt-objects", "native.txt"))
        {
            Assert.Equal("native"u8.ToArray(), await ReadAllAsync(get));
        }

        // A top-level directory written only through the native API is a bucket (the hidden .kepler/ paths, which
        // sort before it, are stepped over).
        using (var native = await http.PutAsync("api/files/native-dir/deep/f.txt", new StringContent("n")))
        {
            Assert.Equal(HttpStatusCode.OK, native.StatusCode);
        }

        Assert.Contains((await cluster.Client(1).ListBucketsAsync()).Buckets, b => b.BucketName == "native-dir");
        var nativeListing = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "native-dir" });
        Assert.Equal(["deep/f.txt"], nativeListing.S3Objects.Select(o => o.Key));

        await s3.DeleteObjectAsync("bkt-objects", "dir/file one.bin");
        await FailsAsync(() => reader.GetObjectAsync("bkt-objects", "dir/file one.bin"), HttpStatusCode.NotFound,
            "NoSuchKey");
        await FailsAsync(() => reader.GetObjectMetadataAsync("bkt-objects", "dir/file one.bin"),
            HttpStatusCode.NotFound, null);
        // Deleting what is gone succeeds, as in S3.
        await s3.DeleteObjectAsync("bkt-objects", "dir/file one.bin");
    }

    [Fact]
    public async Task Range_and_conditional_gets_follow_s3()
    {
        using var s3 = cluster.Client(1);
        await s3.PutBucketAsync("bkt-range");
        var data = Nodes.RandomBytes(100_000);
        var etag = (await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "bkt-range", Key = "r", InputStream = new MemoryStream(data),
        })).ETag;
        using (var part = await s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = "bkt-range", Key = "r", ByteRange = new ByteRange(10, 19),
        }))
        {
            Assert.Equal(HttpStatusCode.PartialContent, part.HttpStatusCode);
            Assert.Equal(data[10..20], await ReadAllAsync(part));
        }

        await FailsAsync(() => s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = "bkt-range", Key = "r", EtagToNotMatch = etag,
        }), HttpStatusCode.NotModified, null);
        await FailsAsync(() => s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = "bkt-range", Key = "r", EtagToMatch = "\"0123\"",
        }), HttpStatusCode.PreconditionFailed, "PreconditionFailed");
        await FailsAsync(() => s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = "bkt-range", Key = "r", ModifiedSinceDate = DateTime.UtcNow.AddMinutes(10),
        }), HttpStatusCode.NotModified, null);
        await FailsAsync(() => s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = "bkt-range", Key = "r", UnmodifiedSinceDate = DateTime.UtcNow.AddDays(-1),
        }), HttpStatusCode.PreconditionFailed, "PreconditionFailed");
        using var match = await s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = "bkt-range", Key = "r", EtagToMatch = etag, ModifiedSinceDate = DateTime.UtcNow.AddDays(-1),
        });
        Assert.Equal(data, await ReadAllAsync(match));
        await FailsAsync(() => s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = "bkt-range", Key = "r", ByteRange = new ByteRange(200_000, 200_010),
        }), HttpStatusCode.RequestedRangeNotSatisfiable, "InvalidRange");
    }

    [Fact]
    public async Task ListObjectsV2_and_V1_page_with_prefix_delimiter_and_tokens()
    {
        using var s3 = cluster.Client(0);
        await s3.PutBucketAsync("bkt-list");
        string[] keys = ["a/1", "a/2", "a/b/3", "b", "c/4", "c/5", "d"];
        foreach (var key in keys)
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = "bkt-list", Key = key, ContentBody = key });
        }

        var all = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bkt-list" });
        Assert.Equal(keys, all.S3Objects.Select(o => o.Key));
        Assert.Equal(3, all.S3Objects[0].Size);

        var top = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bkt-list", Delimiter = "/" });
        Assert.Equal(["b", "d"], top.S3Objects.Select(o => o.Key));
        Assert.Equal(["a/", "c/"], top.CommonPrefixes);

        var underA = await s3.ListObjectsV2Async(new ListObjectsV2Request
        {
            BucketName = "bkt-list", Prefix = "a/", Delimiter = "/",
        });
        Assert.Equal(["a/1", "a/2"], underA.S3Objects.Select(o => o.Key));
        Assert.Equal(["a/b/"], underA.CommonPrefixes);

        // Pages of two, prefixes counted with keys: a/, b | c/, d.
        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = "bkt-list", Delimiter = "/", MaxKeys = 2, ContinuationToken = token,
            });
            pages++;
            seen.AddRange((page.CommonPrefixes ?? []).Concat(page.S3Objects?.Select(o => o.Key) ?? []).Order());
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);
        Assert.Equal(["a/", "b", "c/", "d"], seen);
        Assert.Equal(2, pages);

        var after = await s3.ListObjectsV2Async(new ListObjectsV2Request
        {
            BucketName = "bkt-list", StartAfter = "c/4",
        });
        Assert.Equal(["c/5", "d"], after.S3Objects.Select(o => o.Key));

        var v1 = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = "bkt-list", MaxKeys = 3 });
        Assert.Equal(["a/1", "a/2", "a/b/3"], v1.S3Objects.Select(o => o.Key));
        Assert.True(v1.IsTruncated);
        var v1Next = await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = "bkt-list", Marker = "a/b/3" });
        Assert.Equal(["b", "c/4", "c/5", "d"], v1Next.S3Objects.Select(o => o.Key));
        var owner = await s3.ListObjectsV2Async(new ListObjectsV2Request
        {
            BucketName = "bkt-list", FetchOwner = true, MaxKeys = 1,
        });
        Assert.Equal("kepler", owner.S3Objects[0].Owner.DisplayName);
    }

    [Fact]
    public async Task Copy_and_delete_objects()
    {
        using var s3 = cluster.Client(2);
        await s3.PutBucketAsync("bkt-copy");
        var put = new PutObjectRequest { BucketName = "bkt-copy", Key = "src", ContentBody = "copy me" };
        put.Metadata.Add("m", "1");
        var etag = (await s3.PutObjectAsync(put)).ETag;
        var copy = await s3.CopyObjectAsync("bkt-copy", "src", "bkt-copy", "dst");
        Assert.Equal(etag, copy.ETag);
        var head = await s3.GetObjectMetadataAsync("bkt-copy", "dst");
        Assert.Equal("1", head.Metadata["m"]);
        var replaced = await s3.CopyObjectAsync(new CopyObjectRequest
        {
            SourceBucket = "bkt-copy", SourceKey = "src", DestinationBucket = "bkt-copy", DestinationKey = "dst2",
            MetadataDirective = S3MetadataDirective.REPLACE, ContentType = "text/plain",
        });
        Assert.Equal(etag, replaced.ETag);
        Assert.Empty((await s3.GetObjectMetadataAsync("bkt-copy", "dst2")).Metadata.Keys);

        var deleted = await s3.DeleteObjectsAsync(new DeleteObjectsRequest
        {
            BucketName = "bkt-copy",
            Objects = [new KeyVersion { Key = "src" }, new KeyVersion { Key = "dst" }, new KeyVersion { Key = "nope" }],
        });
        Assert.Equal(["dst", "nope", "src"], deleted.DeletedObjects.Select(d => d.Key).Order());
        var left = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = "bkt-copy" });
        Assert.Equal(["dst2"], left.S3Objects.Select(o => o.Key));
    }

    [Fact]
    public async Task Wrong_secret_is_SignatureDoesNotMatch_and_unknown_key_InvalidAccessKeyId()
    {
        using var wrong = cluster.Client(0, secret: "not-the-secret");
        await FailsAsync(() => wrong.ListBucketsAsync(), HttpStatusCode.Forbidden, "SignatureDoesNotMatch");
        await FailsAsync(() => wrong.PutObjectAsync(new PutObjectRequest
        {
            BucketName = "bkt-any", Key = "k", ContentBody = "x",
        }), HttpStatusCode.Forbidden, "SignatureDoesNotMatch");
        using var http = new HttpClient();
        using var anonymous = await http.GetAsync(cluster.S3Url(0));
        Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);
        Assert.Contains("<Code>AccessDenied</Code>", await anonymous.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Unsupported_operations_are_501_NotImplemented()
    {
        using var s3 = cluster.Client(0);
        await s3.PutBucketAsync("bkt-501");
        await FailsAsync(() => s3.GetBucketPolicyAsync("bkt-501"), HttpStatusCode.NotImplemented, "NotImplemented");
        await FailsAsync(() => s3.GetObjectTaggingAsync(new GetObjectTaggingRequest
        {
            BucketName = "bkt-501", Key = "k",
        }), HttpStatusCode.NotImplemented, "NotImplemented");
    }
}
