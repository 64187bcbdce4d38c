using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json;

namespace KeplerSim.Sim.Kernel;

/// <summary>What happened, for the trace. The numeric values are part of the trace hash: never renumber.</summary>
public enum TraceKind
{
    /// <summary>A datagram was handed to the network.</summary>
    DatagramSent = 1,
    /// <summary>A datagram reached its target.</summary>
    DatagramDelivered = 2,
    /// <summary>A datagram was lost (loss, partition, target down).</summary>
    DatagramDropped = 3,
    /// <summary>A stream connection was established.</summary>
    StreamOpened = 4,
    /// <summary>A stream connection broke or was refused.</summary>
    StreamBroken = 5,
    /// <summary>A stream frame was delivered.</summary>
    StreamFrame = 6,
    /// <summary>A stream connection was closed cleanly.</summary>
    StreamClosed = 7,
    /// <summary>A disk operation completed.</summary>
    Disk = 8,
    /// <summary>A disk operation failed (full, I/O error).</summary>
    DiskFault = 9,
    /// <summary>A timer fired.</summary>
    TimerFired = 10,
    /// <summary>A node started.</summary>
    NodeStarted = 11,
    /// <summary>A node crashed.</summary>
    NodeCrashed = 12,
    /// <summary>A node was paused.</summary>
    NodePaused = 13,
    /// <summary>A node resumed.</summary>
    NodeResumed = 14,
    /// <summary>A network partition or heal.</summary>
    Partition = 15,
    /// <summary>A clock jump.</summary>
    ClockJump = 16,
    /// <summary>A protocol event published by core.</summary>
    Protocol = 17,
    /// <summary>A scenario or harness step.</summary>
    Step = 18,
    /// <summary>Data corrupted on purpose.</summary>
    Corruption = 19,
    /// <summary>A node's supervised background task failed unexpectedly: the run stops here.</summary>
    TaskFailed = 20,
}

/// <summary>
/// The trace of a run: a running XxHash3 over every record (binary, cheap) and, when asked, JSON lines.
/// </summary>
public sealed class TraceRecorder : IDisposable
{
    private readonly XxHash3 _hash = new();
    private readonly Utf8JsonWriter? _json;
    private readonly Stream? _jsonStream;
    private readonly byte[] _scratch = new byte[40];

    /// <summary>Creates a recorder; with <paramref name="jsonLines"/> every record is also written as JSON.</summary>
    public TraceRecorder(Stream? jsonLines = null)
    {
        _jsonStream = jsonLines;
        if (jsonLines is not null)
        {
            _json = new Utf8JsonWriter(jsonLines, new JsonWriterOptions { SkipValidation = true });
        }
    }

    /// <summary>How many records were traced.</summary>
    public long Count { get; private set; }

    /// <summary>The running hash of every record so far, as 16 hex digits.</summary>
    public string Hash => _hash.GetCurrentHashAsUInt64().ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Observers of every record (the TUI, invariant checkers); null when nobody listens.</summary>
    public event Action<TraceRecord>? Recorded;

    /// <summary>Adds a record.</summary>
    public void Record(long timeMicroseconds, string node, TraceKind kind, string? detail, long a = 0, long b = 0)
    {
        Count++;
        var span = _scratch.AsSpan();
        BinaryPrimitives.WriteInt64LittleEndian(span, timeMicroseconds);
        BinaryPrimitives.WriteInt32LittleEndian(span[8..], (int)kind);
        BinaryPrimitives.WriteInt64LittleEndian(span[12..], a);
        BinaryPrimitives.WriteInt64LittleEndian(span[20..], b);
        BinaryPrimitives.WriteInt32LittleEndian(span[28..], node.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[32..], detail?.Length ?? -1);
        _hash.Append(span[..36]);
        AppendString(node);
        if (detail is not null)
        {
            AppendString(detail);
        }

        if (_json is not null)
        {
            WriteJson(timeMicroseconds, node, kind, detail, a, b);
        }

        Recorded?.Invoke(new TraceRecord(timeMicroseconds, node, kind, detail, a, b));
    }

    private void AppendString(string text)
    {
        // Hash UTF-16 code units directly: stable, and no encoding work on the hot path.
        _hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(text.AsSpan()));
    }

    private void WriteJson(long time, string node, TraceKind kind, string? detail, long a, long b)
    {
        var json = _json!;
        json.WriteStartObject();
        json.WriteNumber("t", time);
        json.WriteString("node", node);
        json.WriteString("kind", kind.ToString());
        if (detail is not null)
        {
            json.WriteString("detail", detail);
        }

        if (a != 0)
        {
            json.WriteNumber("a", a);
        }

        if (b != 0)
        {
            json.WriteNumber("b", b);
        }

        json.WriteEndObject();
        json.Flush();
        json.Reset();
        _jsonStream!.WriteByte((byte)'\n');
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _json?.Dispose();
        _jsonStream?.Flush();
    }

    /// <summary>Reads a JSON-lines trace back (for replays and the TUI).</summary>
    public static IEnumerable<TraceRecord> ReadJsonLines(TextReader reader)
    {
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            yield return new TraceRecord(
                root.GetProperty("t").GetInt64(),
                root.GetProperty("node").GetString() ?? "",
                Enum.Parse<TraceKind>(root.GetProperty("kind").GetString() ?? ""),
                root.TryGetProperty("detail", out var d) ? d.GetString() : null,
                root.TryGetProperty("a", out var a) ? a.GetInt64() : 0,
                root.TryGetProperty("b", out var b) ? b.GetInt64() : 0);
        }
    }
}

/// <summary>One trace record.</summary>
public readonly record struct TraceRecord(
    long TimeMicroseconds, string Node, TraceKind Kind, string? Detail, long A, long B);
