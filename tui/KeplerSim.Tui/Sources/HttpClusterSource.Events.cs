using System.Text;
using System.Text.Json;
using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Sources;

public sealed partial class HttpClusterSource
{
    /// <summary>Longest server-sent-events line read; the rest of a longer line is dropped.</summary>
    public const int EventLineCharsMax = 64 * 1024;

    /// <summary>
    /// Reads one node's <c>/api/events</c> until it ends or fails; the next poll opens it again. Lines that are
    /// not SSE, and data that is not an event, are counted as bad events and skipped.
    /// </summary>
    private async Task FollowEventsAsync(NodeProbe probe, CancellationToken cancel)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(probe.Url, "api/events"));
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync(cancel);
            using var text = new StreamReader(body, Encoding.UTF8);
            var reader = new BoundedLineReader(text, EventLineCharsMax);
            await ReadEventsAsync(probe, reader, cancel);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            // The node went away or we are stopping: the next poll reconnects.
        }
        finally
        {
            lock (_gate)
            {
                probe.Streaming = false;
            }
        }
    }

    private async Task ReadEventsAsync(NodeProbe probe, BoundedLineReader reader, CancellationToken cancel)
    {
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancel) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    Dispatch(probe, data.ToString());
                    data.Clear();
                }
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                if (data.Length + line.Length <= EventLineCharsMax)
                {
                    data.Append(line.AsSpan(5).TrimStart(' '));
                }
            }
            else if (!line.StartsWith(':') && !line.StartsWith("event:", StringComparison.Ordinal)
                && !line.StartsWith("id:", StringComparison.Ordinal) && !line.StartsWith("retry:",
                    StringComparison.Ordinal))
            {
                Bad(probe);
            }
        }
    }

    private void Dispatch(NodeProbe probe, string json)
    {
        MonitorEvent e;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (NodeJson.Text(root, "kind") is not { Length: > 0 } kind)
            {
                Bad(probe);
                return;
            }

            var data = root.TryGetProperty("data", out var d) ? d : default;
            var fields = NodeJson.Fields(data);
            fields.Remove("kind");
            // In the order the node wrote them (the record's order), like the simulator's events.
            var text = data.ValueKind == JsonValueKind.Object
                ? string.Join(", ", data.EnumerateObject().Where(p => p.Name != "kind")
                    .Select(p => $"{p.Name} = {fields[p.Name]}"))
                : "";
            e = new MonitorEvent(null, _time.GetUtcNow(), probe.Id ?? probe.Url.Authority, kind, text, fields);
        }
        catch (JsonException)
        {
            Bad(probe);
            return;
        }

        lock (_gate)
        {
            _fold.Apply(e);
            _events.OnNext(e);
        }
    }

    private void Bad(NodeProbe probe)
    {
        lock (_gate)
        {
            probe.BadEvents++;
            probe.Health = $"ok ({probe.BadEvents} bad events)";
        }
    }
}

/// <summary>Reads lines of at most a given length (the rest of a longer line is dropped), so garbage without
/// newlines cannot exhaust memory.</summary>
internal sealed class BoundedLineReader(TextReader reader, int lineCharsMax)
{
    private readonly char[] _buffer = new char[4096];
    private readonly StringBuilder _line = new();
    private int _position;
    private int _length;

    /// <summary>The next line without its terminator, or null at the end.</summary>
    public async Task<string?> ReadLineAsync(CancellationToken cancel)
    {
        _line.Clear();
        var any = false;
        while (true)
        {
            if (_position == _length)
            {
                _length = await reader.ReadAsync(_buffer.AsMemory(), cancel);
                _position = 0;
                if (_length == 0)
                {
                    return any ? _line.ToString() : null;
                }
            }

            while (_position < _length)
            {
                var c = _buffer[_position++];
                any = true;
                if (c == '\n')
                {
                    return _line.Length > 0 && _line[^1] == '\r'
                        ? _line.ToString(0, _line.Length - 1)
                        : _line.ToString();
                }

                if (_line.Length < lineCharsMax)
                {
                    _line.Append(c);
                }
            }
        }
    }
}
