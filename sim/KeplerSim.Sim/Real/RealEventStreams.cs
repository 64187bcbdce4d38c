using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using KeplerSim.Sim.Invariants;

namespace KeplerSim.Sim.Real;

/// <summary>
/// Follows every node's <c>GET /api/events</c> (server-sent events, the same core events the simulator traces) for
/// the event checkers: one reader per node, started before time 0, reconnecting after a restart. Each event goes to
/// <c>deliver</c> as it arrives, stamped with the run's clock then. What it cannot promise it counts: events the
/// node dropped for a slow reader (a gap in the stream's ids), a stream cut while its process ran on, a malformed
/// event; the run then reports the event-judged checks incomplete instead of passing them.
/// </summary>
/// <param name="now">The run's clock, microseconds.</param>
/// <param name="deliver">Takes each event (called from the readers, one at a time per node).</param>
/// <param name="subscribed">Runs after each (re)subscription, before the stream's first event is delivered.</param>
internal sealed class RealEventStreams(Func<long> now, Func<RealNode, CheckedEvent, Task> deliver,
    Func<RealNode, CancellationToken, Task> subscribed) : IAsyncDisposable
{
    /// <summary>How often a reader looks whether a down or paused node can be followed again.</summary>
    public const int ReconnectPollMilliseconds = 100;

    /// <summary>How long a reader waits for the process to exit after its stream ended, before it counts the end
    /// as a cut stream (a kill or stop ends the stream a moment before the process is gone).</summary>
    public static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(3);

    private readonly HttpClient _http = new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(3) })
    {
        Timeout = Timeout.InfiniteTimeSpan, // A stream lasts as long as the node; cancellation ends it.
    };

    private readonly CancellationTokenSource _cancel = new();
    private readonly Lock _gate = new();
    private readonly List<Task> _readers = [];
    private readonly SortedDictionary<string, StreamCounts> _counts = new(StringComparer.Ordinal);

    /// <summary>What one node's stream delivered and lost.</summary>
    public sealed class StreamCounts
    {
        /// <summary>Events delivered.</summary>
        public long Events { get; set; }

        /// <summary>Subscriptions made (the first, then one per restart or cut).</summary>
        public long Subscriptions { get; set; }

        /// <summary>Events the node dropped for this reader (gaps in the ids).</summary>
        public long Lost { get; set; }

        /// <summary>Streams that ended while the process ran on (events may be missing until the reconnect).</summary>
        public long Cut { get; set; }

        /// <summary>Events that could not be read (bad JSON or id).</summary>
        public long Malformed { get; set; }

        /// <summary>Readings that ended in an unexpected error (the reader follows again).</summary>
        public long Failed { get; set; }

        /// <summary>The last such error, for the report.</summary>
        public string? LastFailure { get; set; }
    }

    /// <summary>Starts following <paramref name="node"/> (once: its reader reconnects after a restart by itself).
    /// </summary>
    public void Follow(RealNode node)
    {
        if (Track(node))
        {
            lock (_gate)
            {
                _readers.Add(Task.Run(() => FollowAsync(node, _cancel.Token)));
            }
        }
    }

    /// <summary>Counts <paramref name="node"/>'s stream from now on; false if it is counted already.</summary>
    internal bool Track(RealNode node)
    {
        lock (_gate)
        {
            return _counts.TryAdd(node.Spec.Name, new StreamCounts());
        }
    }

    /// <summary>Whether every followed node has been subscribed to at least once.</summary>
    public bool AllSubscribed
    {
        get
        {
            lock (_gate)
            {
                return _counts.Values.All(c => c.Subscriptions > 0);
            }
        }
    }

    /// <summary>The counts per node, copied.</summary>
    public IReadOnlyList<(string Node, long Events, long Subscriptions, long Lost, long Cut, long Malformed)> Counts()
    {
        lock (_gate)
        {
            return [.. _counts.Select(c => (c.Key, c.Value.Events, c.Value.Subscriptions, c.Value.Lost, c.Value.Cut,
                c.Value.Malformed + c.Value.Failed))];
        }
    }

    /// <summary>Why the event-judged checks are incomplete (null: every event of every stream was delivered, as far
    /// as the streams can tell).</summary>
    public string? Incomplete()
    {
        List<string> gaps;
        lock (_gate)
        {
            gaps = [.. _counts.Where(c => c.Value.Lost + c.Value.Cut + c.Value.Malformed + c.Value.Failed > 0)
                .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key}: {c.Value.Lost} event(s) " +
                    $"dropped by the node for a slow reader, {c.Value.Cut} stream(s) cut while it ran, " +
                    $"{c.Value.Malformed} unreadable") + (c.Value.Failed == 0 ? "" : string.Create(
                    CultureInfo.InvariantCulture, $", {c.Value.Failed} reading(s) failed ({c.Value.LastFailure})")))];
        }

        return gaps.Count == 0 ? null : string.Join("; ", gaps);
    }

    /// <summary>Each node's stream in a few words, for the run's timeline.</summary>
    public string Summary() => string.Join(", ", Counts().Select(c => string.Create(CultureInfo.InvariantCulture,
        $"{c.Node} {c.Events} events/{c.Subscriptions} subscription(s)")));

    private async Task FollowAsync(RealNode node, CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            if (!node.Running || node.Paused)
            {
                await Delay(cancel);
                continue;
            }

            var epoch = node.Epoch;
            var before = Subscriptions(node);
            try
            {
                await ReadAsync(node, cancel);
            }
            catch (Exception e) when (e is HttpRequestException or IOException
                or OperationCanceledException && !cancel.IsCancellationRequested)
            {
                // The node is starting, went away or was paused: the loop looks again.
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                // Whatever else ends a reader must not end its following silently: counted, and it follows again.
                Count(node, c => (c.Failed, c.LastFailure) = (c.Failed + 1, $"{e.GetType().Name}: {e.Message}"));
            }

            // Subscribed, and the stream ended (or broke) while the same process ran on: events may be missing.
            if (Subscriptions(node) > before && !cancel.IsCancellationRequested
                && await RanOnAsync(node, epoch, cancel))
            {
                Count(node, c => c.Cut++);
            }

            await Delay(cancel);
        }
    }

    private long Subscriptions(RealNode node)
    {
        lock (_gate)
        {
            return _counts[node.Spec.Name].Subscriptions;
        }
    }

    /// <summary>Whether the same process still runs <see cref="ExitGrace"/> after its stream ended.</summary>
    private static async Task<bool> RanOnAsync(RealNode node, int epoch, CancellationToken cancel)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < ExitGrace)
        {
            if (!node.Running || node.Epoch != epoch || node.Terminating)
            {
                return false; // Killed, restarted or stopping (a graceful stop closes HTTP before it exits).
            }

            await Delay(cancel);
        }

        return node.Running && node.Epoch == epoch && !node.Paused;
    }

    /// <summary>One subscription, until its stream ends.</summary>
    private async Task ReadAsync(RealNode node, CancellationToken cancel)
    {
        using var response = await _http.GetAsync(new Uri(node.Spec.Url, "api/events"),
            HttpCompletionOption.ResponseHeadersRead, cancel);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancel);
        Count(node, c => c.Subscriptions++);
        await subscribed(node, cancel);
        await ReadEventsAsync(node, body, cancel);
    }

    /// <summary>Delivers the events of one subscription's <paramref name="body"/> (server-sent events) as they
    /// arrive, counting what the ids say was dropped and what could not be read.</summary>
    internal async Task ReadEventsAsync(RealNode node, Stream body, CancellationToken cancel)
    {
        var last = 0L;
        var parser = SseParser.Create(body, (_, data) => Encoding.UTF8.GetString(data));
        await foreach (var item in parser.EnumerateAsync(cancel))
        {
            if (!long.TryParse(parser.LastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                || id <= last || Parse(node.Spec.Name, item.EventType, item.Data, now()) is not { } e)
            {
                Count(node, c => c.Malformed++);
                continue;
            }

            if (id > last + 1)
            {
                Count(node, c => c.Lost += id - last - 1); // Numbered from 1 per subscription: the gap was dropped.
            }

            last = id;
            Count(node, c => c.Events++);
            await deliver(node, e);
        }
    }

    /// <summary>The event one stream item carries (<c>data: {"kind": ..., "data": {...}}</c>); null if it is not
    /// one.</summary>
    public static CheckedEvent? Parse(string node, string eventType, string data, long at)
    {
        try
        {
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("kind", out var kind)
                || kind.ValueKind != JsonValueKind.String || kind.GetString() != eventType
                || !root.TryGetProperty("data", out var fields) || fields.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            return CheckedEvent.FromJson(node, eventType, fields, at);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void Count(RealNode node, Action<StreamCounts> change)
    {
        lock (_gate)
        {
            change(_counts[node.Spec.Name]);
        }
    }

    private static Task Delay(CancellationToken cancel) =>
        Task.Delay(ReconnectPollMilliseconds, cancel).ContinueWith(_ => { }, TaskScheduler.Default);

    /// <summary>Stops every reader and waits (bounded) for them.</summary>
    public async ValueTask DisposeAsync()
    {
        await _cancel.CancelAsync();
        Task[] readers;
        lock (_gate)
        {
            readers = [.. _readers];
        }

        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { },
            TaskScheduler.Default);
        _http.Dispose();
        _cancel.Dispose();
    }
}
