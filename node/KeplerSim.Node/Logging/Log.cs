using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.Logging;

/// <summary>
/// Every log line of the node, source-generated. Event ids by area: 1xxx lifecycle, 2xxx loop, 3xxx protocol
/// events, 4xxx HTTP.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1000, LogLevel.Information,
        "node {NodeId} starting: http {Http}, gossip udp {Gossip}, transfer tcp {Transfer}, data {DataDir}")]
    public static partial void Starting(this ILogger logger, string nodeId, string http, string gossip,
        string transfer, string dataDir);

    [LoggerMessage(1001, LogLevel.Information,
        "starting with {Members} configured members ({MemberList}), replication factor {ReplicationFactor}; " +
        "membership: {Membership}")]
    public static partial void StaticCluster(this ILogger logger, int members, string memberList,
        int replicationFactor, string membership);

    [LoggerMessage(1005, LogLevel.Information,
        "membership: SWIM, joining through seeds {Seeds}; replication factor {ReplicationFactor}")]
    public static partial void SwimCluster(this ILogger logger, string seeds, int replicationFactor);

    [LoggerMessage(1002, LogLevel.Information, "node ready: {Recovery}")]
    public static partial void Ready(this ILogger logger, string recovery);

    [LoggerMessage(1003, LogLevel.Critical, "node failed to start")]
    public static partial void StartFailed(this ILogger logger, Exception exception);

    [LoggerMessage(1004, LogLevel.Information, "node stopping")]
    public static partial void Stopping(this ILogger logger);

    [LoggerMessage(1010, LogLevel.Information,
        "leaving the cluster: announcing the leave, then handing chunks off for at most {TimeoutMs} ms")]
    public static partial void Leaving(this ILogger logger, long timeoutMs);

    [LoggerMessage(1011, LogLevel.Information,
        "left the cluster: {Chunks} local chunks, {Members} live members to take them, {QueueLeft} queue entries " +
        "not handed off")]
    public static partial void Left(this ILogger logger, long chunks, int members, long queueLeft);

    [LoggerMessage(2000, LogLevel.Critical,
        "fatal: {Task} failed unexpectedly; the node's state is unknown and it stops")]
    public static partial void TaskFailed(this ILogger logger, string task, Exception exception);

    [LoggerMessage(2001, LogLevel.Debug, "{Task} failed while the node was stopping")]
    public static partial void FailedWhileStopping(this ILogger logger, string task, Exception exception);

    [LoggerMessage(3000, LogLevel.Debug, "{Kind} {Details}")]
    public static partial void ProtocolEvent(this ILogger logger, string kind, string details);

    [LoggerMessage(3001, LogLevel.Information, "{Kind} {Details}")]
    public static partial void ProtocolNotice(this ILogger logger, string kind, string details);

    [LoggerMessage(3002, LogLevel.Warning, "{Kind} {Details}")]
    public static partial void ProtocolWarning(this ILogger logger, string kind, string details);

    [LoggerMessage(4000, LogLevel.Information, "{Method} {Path} -> {Status} {Code}: {Message}")]
    public static partial void ClientError(this ILogger logger, string method, string path, int status, string code,
        string message);

    [LoggerMessage(4001, LogLevel.Error, "{Method} {Path} -> {Status} {Code}: {Message}")]
    public static partial void ServerError(this ILogger logger, string method, string path, int status, string code,
        string message, Exception exception);

    [LoggerMessage(4002, LogLevel.Warning, "{Method} {Path} failed after the response started; connection aborted")]
    public static partial void ResponseAborted(this ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(4010, LogLevel.Warning, "the HTTP API is open to anyone who reaches {Address}: no API_TOKENS " +
        "are set (docs/NODE.md, secure deployment)")]
    public static partial void ApiOpen(this ILogger logger, string address);

    [LoggerMessage(4011, LogLevel.Information, "HTTP API: {Tokens} tokens ({Names}); /metrics {Metrics}; {Scheme}")]
    public static partial void ApiSecured(this ILogger logger, int tokens, string names, string metrics,
        string scheme);

    [LoggerMessage(4012, LogLevel.Information, "{Method} {Path} -> {Status} {Code}: {Message}")]
    public static partial void AuthRejected(this ILogger logger, string method, string path, int status,
        string code, string message);
}
