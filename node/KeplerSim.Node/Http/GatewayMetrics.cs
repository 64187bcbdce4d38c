using Prometheus;

namespace KeplerSim.Node.Http;

/// <summary>
/// The node's Prometheus registry (prometheus-net): the gateway's own instruments, updated as requests run, and
/// mirrors of the counters kept by core and the transport, refreshed just before each scrape. One registry per
/// node, so several nodes in one process (the tests) never share a series. The process and .NET runtime metrics
/// of prometheus-net's DotNetStats (<c>process_cpu_seconds_total</c>, <c>process_working_set_bytes</c>,
/// <c>dotnet_collection_count_total</c>, <c>dotnet_total_memory_bytes</c>, ...) come with it.
/// </summary>
internal sealed class GatewayMetrics
{
    /// <summary>Latency buckets of <c>kepler_http_request_duration_seconds</c>: 1 ms to about 65 s.</summary>
    private static readonly double[] LatencyBuckets = Histogram.ExponentialBuckets(0.001, 2, 17);

    private readonly Counter _requests;
    private readonly Histogram _duration;
    private readonly Counter _bytesIn;
    private readonly Counter _bytesOut;

    public GatewayMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        Factory = Metrics.WithCustomRegistry(Registry);
        DotNetStats.Register(Registry);
        _requests = Factory.CreateCounter("kepler_http_requests_total", "HTTP requests by route, method and status",
            ["route", "method", "status"]);
        _duration = Factory.CreateHistogram("kepler_http_request_duration_seconds",
            "HTTP request latency by route and method, until the response is complete",
            new HistogramConfiguration { LabelNames = ["route", "method"], Buckets = LatencyBuckets });
        _bytesIn = Factory.CreateCounter("kepler_http_received_bytes_total", "Upload body bytes read");
        _bytesOut = Factory.CreateCounter("kepler_http_sent_bytes_total", "Download body bytes written");
    }

    /// <summary>The registry <c>/metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Creates (or finds) instruments in <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    public void CountRequest(string route, string method, int status, TimeSpan elapsed)
    {
        _requests.WithLabels(route, method, status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        _duration.WithLabels(route, method).Observe(elapsed.TotalSeconds);
    }

    public void CountIn(long bytes) => _bytesIn.Inc(bytes);

    public void CountOut(long bytes) => _bytesOut.Inc(bytes);

    /// <summary>Sets the mirror of a cumulative counter kept elsewhere (it only ever grows).</summary>
    public void Counter(string name, string help, long value, params (string Name, string Value)[] labels)
    {
        var counter = Factory.CreateCounter(name, help, labels.Select(l => l.Name).ToArray());
        ICounter series = labels.Length == 0 ? counter : counter.WithLabels(labels.Select(l => l.Value).ToArray());
        series.IncTo(value);
    }

    /// <summary>Sets the mirror of a value kept elsewhere that goes up and down.</summary>
    public void Gauge(string name, string help, double value, params (string Name, string Value)[] labels)
    {
        var gauge = Factory.CreateGauge(name, help, labels.Select(l => l.Name).ToArray());
        IGauge series = labels.Length == 0 ? gauge : gauge.WithLabels(labels.Select(l => l.Value).ToArray());
        series.Set(value);
    }
}
