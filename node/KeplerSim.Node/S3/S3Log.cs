using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.S3;

/// <summary>The S3 API's log lines (event ids 4100-4199).</summary>
internal static partial class S3Log
{
    [LoggerMessage(4100, LogLevel.Information, "S3 API off: {Reason}")]
    public static partial void S3Off(this ILogger logger, string reason);

    [LoggerMessage(4101, LogLevel.Information,
        "S3 API on {Address}: {Keys} access keys ({Names}); durability {Durability}")]
    public static partial void S3On(this ILogger logger, string address, int keys, string names, string durability);

    [LoggerMessage(4102, LogLevel.Information, "S3 {Method} {Path} -> {Status} {Code}: {Message}")]
    public static partial void S3ClientError(this ILogger logger, string method, string path, int status, string code,
        string message);

    [LoggerMessage(4103, LogLevel.Error, "S3 {Method} {Path} -> {Status} {Code}: {Message}")]
    public static partial void S3ServerError(this ILogger logger, string method, string path, int status, string code,
        string message, Exception exception);

    [LoggerMessage(4104, LogLevel.Information, "S3 multipart upload {UploadId} expired: {Parts} parts deleted")]
    public static partial void UploadExpired(this ILogger logger, string uploadId, int parts);

    [LoggerMessage(4105, LogLevel.Warning, "S3 {Method} {Path} failed after the response started; connection aborted")]
    public static partial void S3ResponseAborted(this ILogger logger, string method, string path, Exception exception);
}
