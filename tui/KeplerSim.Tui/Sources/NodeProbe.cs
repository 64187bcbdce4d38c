using System.Globalization;
using System.Text.Json;
using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Sources;

/// <summary>A member as one node's <c>/api/members</c> lists it.</summary>
internal sealed record ListedMember(string Id, string Gossip, string? Http, string State, long Incarnation,
    double? LastHeardSecondsAgo = null);

/// <summary>
/// One node's <c>/api/under-replicated</c>: N, how many chunks it still has to copy somewhere (all pages), the
/// chunks the live versions it knows reference, and the first page as chunk id → copies known.
/// </summary>
internal sealed record UnderReplicatedReport(
    int Target, long Total, long Referenced, IReadOnlyList<(string Id, int Copies)> Chunks);

/// <summary>What the monitor last learned from one node's HTTP API. Guarded by the source's lock.</summary>
internal sealed class NodeProbe(Uri url)
{
    public Uri Url { get; } = url;

    public string? Id { get; set; }

    /// <summary>The id the member list gave the node before it answered itself.</summary>
    public string? ListedId { get; init; }

    /// <summary>The id to file what is learned under: its own, else the listed one.</summary>
    public string? Key => Id ?? ListedId;

    public string Health { get; set; } = "not polled yet";

    public DateTimeOffset? LastOk { get; set; }

    public int? HttpPort { get; set; }

    public int? GossipPort { get; set; }

    public IReadOnlyList<ListedMember> Members { get; set; } = [];

    public IReadOnlyList<(string Id, double Share)> Ring { get; set; } = [];

    public long? QueueDepth { get; set; }

    public RepairProgress? Progress { get; set; }

    public long? StoredChunks { get; set; }

    public long? FileCount { get; set; }

    /// <summary>
    /// Whether the node had more files than the listing pages followed (<see cref="FileCount"/> is "at least").
    /// </summary>
    public bool FileCountTruncated { get; set; }

    /// <summary>The node's under-replicated report (its first page), or null before one was read.</summary>
    public UnderReplicatedReport? UnderReplicated { get; set; }

    public IReadOnlyList<string> Details { get; set; } = [];

    /// <summary>The replication factor in force on the node, its runtime change (version 0: none; origin) and N,
    /// from <c>/api/status</c> (null: a node without it).</summary>
    public (int Factor, long Version, string? Origin, int Target)? Factor { get; set; }

    public bool Streaming { get; set; }

    public long BadEvents { get; set; }
}

/// <summary>Reads the node API's JSON defensively: a wrong shape is <see cref="InvalidDataException"/>.</summary>
internal static class NodeJson
{
    public static JsonElement Object(JsonElement e, string what) => e.ValueKind == JsonValueKind.Object
        ? e
        : throw new InvalidDataException($"{what}: expected an object, got {e.ValueKind}");

    public static JsonElement Array(JsonElement e, string what) => e.ValueKind == JsonValueKind.Array
        ? e
        : throw new InvalidDataException($"{what}: expected an array, got {e.ValueKind}");

    public static string? Text(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind ==
            JsonValueKind.String ? v.GetString() : null;

    public static long? Number(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind ==
            JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    public static double? Real(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind ==
            JsonValueKind.Number ? v.GetDouble() : null;

    /// <summary>The port of "host:port" or of a URL, or null.</summary>
    public static int? Port(string? address)
    {
        if (address is null)
        {
            return null;
        }

        if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            return uri.Port;
        }

        var colon = address.LastIndexOf(':');
        return colon > 0 && int.TryParse(address[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture,
            out var port) && port is > 0 and < 65536 ? port : null;
    }

    /// <summary>The host of "host:port", or null.</summary>
    public static string? Host(string? address)
    {
        var colon = address?.LastIndexOf(':') ?? -1;
        return colon > 0 ? address![..colon] : null;
    }

    /// <summary>Scalar members of an object as "name value" lines (nested objects summarised).</summary>
    public static List<string> Lines(JsonElement obj)
    {
        var lines = new List<string>();
        foreach (var p in obj.EnumerateObject())
        {
            var value = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString(),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => p.Value.GetRawText(),
                JsonValueKind.Null => "-",
                JsonValueKind.Array => $"[{p.Value.GetArrayLength()} items]",
                _ => "{...}",
            };
            lines.Add($"{p.Name,-26} {value}");
        }

        return lines;
    }

    /// <summary>Flattens an event's data object into string fields.</summary>
    public static SortedDictionary<string, string> Fields(JsonElement data)
    {
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (data.ValueKind != JsonValueKind.Object)
        {
            return fields;
        }

        foreach (var p in data.EnumerateObject())
        {
            fields[p.Name] = p.Value.ValueKind == JsonValueKind.String
                ? p.Value.GetString() ?? ""
                : p.Value.GetRawText();
        }

        return fields;
    }
}
