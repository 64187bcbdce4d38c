using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using Microsoft.AspNetCore.Http;

namespace KeplerSim.Node.Http;

/// <summary>The JSON body of every error: a stable machine code and a human message.</summary>
public sealed record ApiError(string Code, string Message);

/// <summary>Maps core and gateway exceptions to an HTTP status and a stable error code.</summary>
internal static class ApiErrors
{
    public static (int Status, ApiError Error) Map(Exception e) => e switch
    {
        InvalidPathException => (400, new("invalid_path", e.Message)),
        BadRequestException bad => (400, new(bad.Code, e.Message)),
        FileNotFoundInClusterException => (404, new("not_found", e.Message)),
        UploadTooLargeException => (413, new("too_large", e.Message)),
        InvalidDataException => (413, new("too_large", e.Message)),
        RangeNotSatisfiableException => (416, new("range_not_satisfiable", e.Message)),
        MemberRemovalRefusedException => (409, new("member_not_removable", e.Message)),
        ReplicationFactorRefusedException => (409, new("replication_factor_static", e.Message)),
        ConflictException conflict => (409, new(conflict.Code, e.Message)),
        DurabilityNotMetException => (503, new("durability_not_met", e.Message)),
        ChunkUnavailableException => (503, new("chunk_unavailable", e.Message)),
        NotReadyException => (503, new("not_ready", e.Message)),
        DiskFullException => (507, new("disk_full", e.Message)),
        BadHttpRequestException http => (http.StatusCode,
            new(http.StatusCode == 413 ? "too_large" : "bad_request", e.Message)),
        DiskIOException => (500, new("disk_error", e.Message)),
        _ => (500, new("internal", e.GetType().Name + ": " + e.Message)),
    };

    public static IResult ToResult(int status, ApiError error) => Results.Json(error, statusCode: status);
}

/// <summary>A request the gateway rejects before calling core.</summary>
internal sealed class BadRequestException(string code, string message) : Exception(message)
{
    public string Code => code;
}

/// <summary>A request the node's current state refuses (409).</summary>
internal sealed class ConflictException(string code, string message) : Exception(message)
{
    public string Code => code;
}

/// <summary>The Range header asks for bytes the file does not have.</summary>
internal sealed class RangeNotSatisfiableException(string message) : Exception(message);

/// <summary>The node has not finished recovery.</summary>
internal sealed class NotReadyException(string message = "the node is still recovering; retry shortly")
    : Exception(message);
