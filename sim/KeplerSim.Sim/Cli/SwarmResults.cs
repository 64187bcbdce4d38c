using System.Text.Json;
using System.Text.Json.Nodes;

namespace KeplerSim.Sim.Cli;

/// <summary>What a shard's result file says about the swarm it belongs to (its first line).</summary>
/// <param name="Shard">K of <c>--shard K/N</c>.</param>
/// <param name="Shards">N.</param>
/// <param name="FirstSeed">The swarm's first seed.</param>
/// <param name="Seeds">Seeds per scenario.</param>
/// <param name="Files">Every scenario file of the swarm, in order (all shards list the same).</param>
/// <param name="Skipped">Files whose protocol is not available (not run by any shard).</param>
public sealed record SwarmHeader(int Shard, int Shards, ulong FirstSeed, int Seeds, IReadOnlyList<string> Files,
    IReadOnlyList<string> Skipped)
{
    /// <summary>Whether <paramref name="other"/> describes the same swarm (any shard of it).</summary>
    public bool SameSwarm(SwarmHeader other) =>
        other is not null && Shards == other.Shards && FirstSeed == other.FirstSeed && Seeds == other.Seeds
        && Files.SequenceEqual(other.Files, StringComparer.Ordinal);
}

/// <summary>A shard's totals (its last line, written when every run of the shard finished).</summary>
/// <param name="Runs">Runs.</param>
/// <param name="Passed">Runs that passed.</param>
/// <param name="Failed">Runs that failed.</param>
/// <param name="WallSeconds">Wall-clock seconds of the shard.</param>
/// <param name="CpuSeconds">CPU seconds of the shard's process (every thread; start-up and JIT included).</param>
public sealed record SwarmTotals(int Runs, int Passed, int Failed, double WallSeconds, double CpuSeconds);

/// <summary>One result file read back: header, runs, and the totals if the shard finished.</summary>
/// <param name="Path">Where it was read from.</param>
/// <param name="Header">The swarm it belongs to.</param>
/// <param name="Runs">The runs it recorded, in file order.</param>
/// <param name="Totals">Null when the shard never finished (killed pod, full disk).</param>
public sealed record SwarmResultsFile(string Path, SwarmHeader Header, IReadOnlyList<SwarmOutcome> Runs,
    SwarmTotals? Totals);

/// <summary>
/// A shard's results as JSON lines: a <c>swarm</c> line (<see cref="SwarmHeader"/>), one <c>run</c> line per
/// (file, seed) as it finishes (<see cref="SwarmOutcome"/>), an <c>end</c> line (<see cref="SwarmTotals"/>). Each
/// line is flushed when written, so a shard killed halfway leaves every run it finished, and no end line.
/// </summary>
public sealed class SwarmResultsWriter : IDisposable
{
    /// <summary>How lines are serialised (camelCase); reading refuses missing fields and misplaced nulls.</summary>
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        RespectNullableAnnotations = true, RespectRequiredConstructorParameters = true,
    };

    private readonly TextWriter _writer;
    private readonly Lock _gate = new();

    /// <summary>Writes to <paramref name="writer"/>, which this object then owns.</summary>
    public SwarmResultsWriter(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _writer = writer;
    }

    /// <summary>Writes the first line.</summary>
    public void WriteHeader(SwarmHeader header) => WriteLine("swarm", header);

    /// <summary>Writes one run's line (any thread).</summary>
    public void WriteRun(SwarmOutcome outcome) => WriteLine("run", outcome);

    /// <summary>Writes the last line.</summary>
    public void WriteTotals(SwarmTotals totals) => WriteLine("end", totals);

    private void WriteLine<T>(string type, T value)
    {
        var line = JsonSerializer.SerializeToNode(value, Json)!.AsObject();
        line.Insert(0, "type", type);
        var text = line.ToJsonString();
        lock (_gate)
        {
            _writer.WriteLine(text);
            _writer.Flush();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();

    /// <summary>
    /// Reads a result file back. Throws <see cref="InvalidDataException"/> naming the file and line when it is not
    /// one (no swarm line first, a line that is not JSON, an unknown type, a second swarm line, lines after the end).
    /// </summary>
    public static SwarmResultsFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        SwarmHeader? header = null;
        SwarmTotals? totals = null;
        var runs = new List<SwarmOutcome>();
        var number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (text.Length == 0)
            {
                continue;
            }

            string Where() => $"{path}:{number}";
            if (totals is not null)
            {
                throw new InvalidDataException($"{Where()}: a line after the end line");
            }

            JsonObject line;
            try
            {
                line = JsonNode.Parse(text)?.AsObject() ?? throw new InvalidDataException($"{Where()}: null");
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                throw new InvalidDataException($"{Where()}: not a JSON object ({e.Message})", e);
            }

            var type = line["type"]?.GetValueKind() == JsonValueKind.String ? line["type"]!.GetValue<string>() : null;
            if (header is null && type != "swarm")
            {
                throw new InvalidDataException($"{Where()}: the first line must be the swarm line, not '{type}' " +
                    "(is this a kepler-sim swarm --results file?)");
            }

            switch (type)
            {
                case "swarm" when header is null:
                    header = Convert<SwarmHeader>(line, Where());
                    break;
                case "run":
                    runs.Add(Convert<SwarmOutcome>(line, Where()));
                    break;
                case "end":
                    totals = Convert<SwarmTotals>(line, Where());
                    break;
                default:
                    throw new InvalidDataException($"{Where()}: unexpected line type '{type}'");
            }
        }

        return header is null
            ? throw new InvalidDataException($"{path}: empty (no swarm line)")
            : new SwarmResultsFile(path, header, runs, totals);
    }

    private static T Convert<T>(JsonObject line, string where)
    {
        try
        {
            return line.Deserialize<T>(Json) ?? throw new InvalidDataException($"{where}: null {typeof(T).Name}");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{where}: not a valid {typeof(T).Name} ({e.Message})", e);
        }
    }
}
