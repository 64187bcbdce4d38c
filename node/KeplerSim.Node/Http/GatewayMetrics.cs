using System.Collections.Concurrent;

namespace KeplerSim.Node.Http;

/// <summary>Thread-safe counters of the HTTP gateway.</summary>
internal sealed class GatewayMetrics
{
    private readonly ConcurrentDictionary<(string Route, string Method, int Status), long> _requests = new();
    private long _bytesIn;
    private long _bytesOut;

    public long BytesIn => Interlocked.Read(ref _bytesIn);

    public long BytesOut => Interlocked.Read(ref _bytesOut);

    public void CountRequest(string route, string method, int status) =>
        _requests.AddOrUpdate((route, method, status), 1, (_, n) => n + 1);

    public void CountIn(long bytes) => Interlocked.Add(ref _bytesIn, bytes);

    public void CountOut(long bytes) => Interlocked.Add(ref _bytesOut, bytes);

    /// <summary>The request counts, ordered so the output is stable.</summary>
    public IReadOnlyList<((string Route, string Method, int Status) Key, long Count)> Requests() =>
        _requests.Select(p => (p.Key, p.Value))
            .OrderBy(p => p.Key.Route, StringComparer.Ordinal)
            .ThenBy(p => p.Key.Method, StringComparer.Ordinal)
            .ThenBy(p => p.Key.Status)
            .ToList();
}
