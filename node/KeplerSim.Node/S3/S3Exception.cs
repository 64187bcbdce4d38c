namespace KeplerSim.Node.S3;

/// <summary>An S3 error: the HTTP status and the standard S3 error code a client acts on.</summary>
internal sealed class S3Exception(int status, string code, string message) : Exception(message)
{
    public int Status => status;

    public string Code => code;

    public static S3Exception AccessDenied(string message) => new(403, "AccessDenied", message);

    public static S3Exception SignatureDoesNotMatch() => new(403, "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and " +
        "signing method.");

    public static S3Exception InvalidArgument(string message) => new(400, "InvalidArgument", message);

    public static S3Exception MalformedXml(string message) => new(400, "MalformedXML", message);

    public static S3Exception NoSuchBucket(string bucket) =>
        new(404, "NoSuchBucket", $"The specified bucket '{bucket}' does not exist");

    public static S3Exception NoSuchKey(string key) =>
        new(404, "NoSuchKey", $"The specified key '{key}' does not exist");

    public static S3Exception NoSuchUpload(string id) => new(404, "NoSuchUpload",
        $"The specified multipart upload '{id}' does not exist (aborted, completed or expired)");

    public static S3Exception NotImplemented(string what) =>
        new(501, "NotImplemented", $"{what} is not implemented by KeplerFS (see docs/S3.md)");
}
