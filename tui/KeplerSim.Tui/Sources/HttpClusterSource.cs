using System.Globalization;
using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Text;
using System.Text.Json;
using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Sources;

/// <summary>
/// A real cluster: polls every known node's <c>/api/status</c>, <c>/api/members</c>, <c>/api/ring</c>,
/// <c>/api/replication</c> and <c>/metrics</c>, follows each node's <c>/api/events</c> stream, and discovers
/// the other nodes from the member lists. A node that is down or answers garbage is shown as such; nothing it
/// sends can stop the monitor.
/// </summary>
public sealed partial class HttpClusterSource : IClusterSource
{
    /// <summary>Time between two polls.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long one request may take.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Largest response body read; a larger one is garbage.</summary>
    public const int ResponseBytesMax = 4 * 1024 * 1024;

    /// <summary>Most files one listing page returns (the node's own maximum).</summary>
    public const int FilesListedMax = 1024;

    /// <summary>Most under-replicated chunks read from each node per poll.</summary>
    public const int UnderReplicatedListedMax = 50;

    /// <summary>Most listing pages followed per poll; a listing still truncated after them is "at least".</summary>
    public const int FilePagesMax = 8;

    /// <summary>Most nodes followed (discovery stops there).</summary>
    public const int NodesMax = 64;

    private readonly Lock _gate = new();
    private readonly HttpClient _client;
    private readonly IScheduler _scheduler;
    private readonly TimeProvider _time;
    private readonly List<NodeProbe> _probes = [];
    private readonly EventFold _fold = new();
    private readonly Subject<ClusterState> _states = new();
    private readonly Subject<MonitorEvent> _events = new();
    private readonly CancellationTokenSource _stop = new();
    private IDisposable? _timer;
    private int _polling;

    /// <summary>Watches the cluster <paramref name="seed"/> belongs to.</summary>
    /// <param name="seed">One node's HTTP base URL.</param>
    /// <param name="handler">The HTTP handler (tests pass a fake); null for a real one.</param>
    /// <param name="scheduler">Paces the polls.</param>
    /// <param name="time">The wall clock for "last heard".</param>
    /// <param name="token">The API token sent to every node (<c>--token</c>, KEPLER_TOKEN); null sends none.</param>
    public HttpClusterSource(Uri seed, HttpMessageHandler? handler, IScheduler scheduler, TimeProvider time,
        string? token = null)
    {
        ArgumentNullException.ThrowIfNull(seed);
        _client = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = RequestTimeout })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        if (!string.IsNullOrWhiteSpace(token))
        {
            _client.DefaultRequestHeaders.Authorization =
                new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token.Trim());
        }

        _scheduler = scheduler;
        _time = time;
        _probes.Add(new NodeProbe(seed));
        Title = $"cluster via {seed}";
    }

    /// <summary>Title text.</summary>
    public string Title { get; }

    /// <inheritdoc />
    public SourceKind Kind => SourceKind.Cluster;

    /// <inheritdoc />
    public IObservable<ClusterState> States => _states.AsObservable();

    /// <inheritdoc />
    public IObservable<MonitorEvent> Events => _events.AsObservable();

    /// <inheritdoc />
    public void Start()
    {
        Publish();
        _timer = Observable.Interval(PollInterval, _scheduler).StartWith(-1L)
            .Subscribe(_ => PollOnceAsync(_stop.Token).ContinueWith(static _ => { }, TaskScheduler.Default));
    }

    /// <inheritdoc />
    public void Send(SourceCommand command)
    {
        // A real cluster is only watched: no play, pause or faults.
    }

    /// <summary>Polls every known node once, discovers new ones, (re)opens event streams, publishes.</summary>
    public async Task PollOnceAsync(CancellationToken cancel)
    {
        if (Interlocked.Exchange(ref _polling, 1) == 1)
        {
            return;
        }

        try
        {
            List<NodeProbe> probes;
            lock (_gate)
            {
                probes = [.. _probes];
            }

            await Task.WhenAll(probes.Select(p => ProbeAsync(p, cancel)));
            Discover();
            lock (_gate)
            {
                probes = [.. _probes];
            }

            foreach (var probe in probes.Where(p => p.Id is not null && !p.Streaming))
            {
                lock (_gate)
                {
                    probe.Streaming = true;
                }

                _ = FollowEventsAsync(probe, cancel);
            }

            Publish();
        }
        finally
        {
            Volatile.Write(ref _polling, 0);
        }
    }

    private async Task ProbeAsync(NodeProbe probe, CancellationToken cancel)
    {
        string health;
        try
        {
            using var status = await GetJsonAsync(probe.Url, "api/status", cancel);
            using var members = await GetJsonAsync(probe.Url, "api/members", cancel);
            using var ring = await GetJsonAsync(probe.Url, "api/ring", cancel);
            using var replication = await GetJsonAsync(probe.Url, "api/replication", cancel);
            var (fileCount, filesTruncated) = await CountFilesAsync(probe.Url, cancel);
            using var under = await GetJsonAsync(probe.Url, $"api/under-replicated?limit={UnderReplicatedListedMax}",
                cancel);
            var metrics = await GetTextAsync(probe.Url, "metrics", cancel);
            var parsed = Parse(status.RootElement, members.RootElement, ring.RootElement, replication.RootElement);
            lock (_gate)
            {
                Apply(probe, parsed);
                probe.StoredChunks = Metric(metrics, "kepler_chunks_stored");
                probe.FileCount = fileCount;
                probe.FileCountTruncated = filesTruncated;
                probe.UnderReplicated = ParseUnderReplicated(under.RootElement);
                probe.LastOk = _time.GetUtcNow();
            }

            return;
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or FormatException)
        {
            health = "garbage: " + e.Message;
        }
        catch (HttpRequestException e)
        {
            health = "unreachable: " + (e.StatusCode is { } code ? $"HTTP {(int)code}" : e.Message);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            health = "unreachable: timed out";
        }

        lock (_gate)
        {
            probe.Health = Shorten(health);
        }
    }

    private async Task<JsonDocument> GetJsonAsync(Uri baseUrl, string path, CancellationToken cancel) =>
        JsonDocument.Parse(await GetTextAsync(baseUrl, path, cancel));

    private async Task<string> GetTextAsync(Uri baseUrl, string path, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(RequestTimeout);
        using var response = await _client.GetAsync(new Uri(baseUrl, path), HttpCompletionOption.ResponseHeadersRead,
            timeout.Token);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(timeout.Token);
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, timeout.Token)) > 0)
        {
            if (buffer.Length + read > ResponseBytesMax)
            {
                throw new InvalidDataException($"/{path}: response over {ResponseBytesMax} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static UnderReplicatedReport ParseUnderReplicated(JsonElement json)
    {
        var root = NodeJson.Object(json, "/api/under-replicated");
        var chunks = NodeJson.Array(root.GetProperty("chunks"), "/api/under-replicated chunks").EnumerateArray()
            .Select(c => (c.GetProperty("chunkId").GetString() ?? throw new InvalidDataException("chunk without id"),
                c.GetProperty("copies").GetInt32()))
            .ToList();
        return new UnderReplicatedReport(root.GetProperty("replicationTarget").GetInt32(),
            root.GetProperty("total").GetInt64(), root.GetProperty("referencedChunks").GetInt64(), chunks);
    }

    /// <summary>Counts live files, following the listing cursor (at most <see cref="FilePagesMax"/> pages).</summary>
    private async Task<(long Count, bool Truncated)> CountFilesAsync(Uri url, CancellationToken cancel)
    {
        var count = 0L;
        string? after = null;
        for (var page = 0; page < FilePagesMax; page++)
        {
            var query = $"api/files/?limit={FilesListedMax}"
                + (after is null ? "" : "&after=" + Uri.EscapeDataString(after));
            using var listing = await GetJsonAsync(url, query, cancel);
            var root = NodeJson.Object(listing.RootElement, "/api/files/");
            count += root.TryGetProperty("files", out var files)
                ? NodeJson.Array(files, "/api/files/ files").GetArrayLength()
                : throw new InvalidDataException("/api/files/: no files");
            after = root.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.String
                ? next.GetString()
                : null;
            if (after is null)
            {
                return (count, false);
            }
        }

        return (count, true);
    }

    private static long? Metric(string text, string name)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal) && double.TryParse(line[(name.Length + 1)..],
                NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return (long)value;
            }
        }

        return null;
    }

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "...";

    /// <summary>Adds the nodes the member lists name that are not followed yet.</summary>
    private void Discover()
    {
        lock (_gate)
        {
            foreach (var probe in _probes.ToList())
            {
                foreach (var member in probe.Members)
                {
                    if (_probes.Count >= NodesMax || _probes.Any(p => p.Key == member.Id))
                    {
                        continue;
                    }

                    if (HttpUrl(probe, member) is { } url && _probes.All(p => p.Url != url))
                    {
                        _probes.Add(new NodeProbe(url) { ListedId = member.Id, Health = "discovered" });
                    }
                }
            }
        }
    }

    /// <summary>
    /// A member's HTTP URL: its <c>http</c> field if the API gives one; otherwise the listing node's own offset
    /// between HTTP and gossip port applied to the member's gossip address (the nodes of one cluster are
    /// normally started with the same offset, as <c>scripts/cluster.sh</c> does).
    /// </summary>
    internal static Uri? HttpUrl(NodeProbe lister, ListedMember member)
    {
        if (member.Http is { } http && Uri.TryCreate(http, UriKind.Absolute, out var given))
        {
            return given;
        }

        if (lister.HttpPort is not { } httpPort || lister.GossipPort is not { } gossipPort
            || NodeJson.Port(member.Gossip) is not { } memberGossip || NodeJson.Host(member.Gossip) is not { } host)
        {
            return null;
        }

        var port = memberGossip + httpPort - gossipPort;
        // The listing node's scheme: the nodes of one cluster all speak https (TLS_CERT) or all plain http.
        return port is > 0 and < 65536
            && Uri.TryCreate($"{lister.Url.Scheme}://{host}:{port}/", UriKind.Absolute, out var url)
            ? url
            : null;
    }
}
