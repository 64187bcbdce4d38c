using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.S3;

internal sealed partial class S3Server
{
    private Task DispatchAsync(S3Call call)
    {
        if (call.Bucket is null)
        {
            return call.Method == HttpMethods.Get
                ? ListBucketsAsync(call)
                : throw S3Exception.NotImplemented($"{call.Method} on the service");
        }

        ValidateBucketName(call.Bucket);
        return call.Key is null ? DispatchBucketAsync(call) : DispatchObjectAsync(call);
    }

    private Task DispatchBucketAsync(S3Call call)
    {
        var query = call.Query;
        return call.Method switch
        {
            "PUT" => CreateBucketAsync(call),
            "HEAD" => HeadBucketAsync(call),
            "DELETE" => DeleteBucketAsync(call),
            "POST" when query.Has("delete") => DeleteObjectsAsync(call),
            "GET" when query.Has("location") => GetBucketLocationAsync(call),
            "GET" when query.Has("uploads") => ListUploadsAsync(call),
            "GET" when query.Get("list-type") == "2" => ListObjectsAsync(call, version2: true),
            "GET" when query.Get("list-type") is null => ListObjectsAsync(call, version2: false),
            _ => throw S3Exception.NotImplemented($"{call.Method} on a bucket with this query"),
        };
    }

    private Task DispatchObjectAsync(S3Call call)
    {
        var query = call.Query;
        var uploadId = query.Get("uploadId");
        var copy = call.Header("x-amz-copy-source");
        return call.Method switch
        {
            "PUT" when uploadId is not null && copy is not null => throw S3Exception.NotImplemented("UploadPartCopy"),
            "PUT" when uploadId is not null => UploadPartAsync(call, uploadId),
            "PUT" when copy is not null => CopyObjectAsync(call, copy),
            "PUT" => PutObjectAsync(call),
            "GET" when uploadId is not null => ListPartsAsync(call, uploadId),
            "GET" => GetObjectAsync(call, withBody: true),
            "HEAD" => GetObjectAsync(call, withBody: false),
            "DELETE" when uploadId is not null => AbortUploadAsync(call, uploadId),
            "DELETE" => DeleteObjectAsync(call),
            "POST" when query.Has("uploads") => CreateUploadAsync(call),
            "POST" when uploadId is not null => CompleteUploadAsync(call, uploadId),
            _ => throw S3Exception.NotImplemented($"{call.Method} on an object with this query"),
        };
    }

    /// <summary>S3's bucket naming rules (3-63 of a-z 0-9 . -, starting and ending with a letter or digit).</summary>
    private static void ValidateBucketName(string bucket)
    {
        var valid = bucket.Length is >= 3 and <= 63
            && bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-')
            && char.IsAsciiLetterOrDigit(bucket[0]) && char.IsAsciiLetterOrDigit(bucket[^1])
            && !bucket.Contains("..", StringComparison.Ordinal);
        if (!valid)
        {
            throw new S3Exception(400, "InvalidBucketName", $"The specified bucket '{bucket}' is not valid");
        }
    }
}
