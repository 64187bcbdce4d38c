using System.Globalization;
using System.Text.Json;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// A protocol event as the event checkers see it, on either host: the node that published it, its kind
/// (<c>write.ack</c>, <c>member.dead</c>, ...), when the checkers learnt of it and its fields by their names in core's
/// event record (<c>Path</c>, <c>ChunkId</c>, <c>Member</c>, ...). The simulator builds one from a trace record
/// (<see cref="FromTrace"/>: the event at its virtual instant), real mode from a line of a node's
/// <c>/api/events</c> stream (<see cref="FromJson"/>: the event when it arrived, wall clock).
/// </summary>
/// <param name="Node">The node that published the event.</param>
/// <param name="Kind">The event's kind.</param>
/// <param name="At">When it happened (simulator) or arrived (real mode), microseconds of the run's clock.</param>
/// <param name="Fields">Looks up a field by its record member name; null when the event has no such field.</param>
public sealed record CheckedEvent(string Node, string Kind, long At, Func<string, string?> Fields)
{
    /// <summary>The value of the field named <paramref name="name"/>, as text; null when absent.</summary>
    public string? Field(string name) => Fields(name);

    /// <summary>
    /// The event a simulator trace record prints (<c>kind Type { Kind = kind, Name = value, ... }</c>); a detail that
    /// is no printed record has the kind and no fields.
    /// </summary>
    public static CheckedEvent FromTrace(string node, string detail, long at)
    {
        ArgumentNullException.ThrowIfNull(detail);
        var space = detail.IndexOf(' ', StringComparison.Ordinal);
        var kind = space > 0 ? detail[..space] : detail;
        if (kind == "write.ack" && WriteAck.Parse(detail) is { } ack)
        {
            // A path may hold ", ": the acknowledgement's own pattern reads it, not the field splitter.
            return new CheckedEvent(node, kind, at, name => name switch
            {
                "Path" => ack.Path,
                "Version" => ack.Version.ToString(),
                "Durability" => ack.Durability,
                "Chunks" => ack.Chunks.ToString(CultureInfo.InvariantCulture),
                _ => PrintedField(detail, name),
            });
        }

        return new CheckedEvent(node, kind, at, name => PrintedField(detail, name));
    }

    /// <summary>
    /// The event a node's <c>/api/events</c> stream sent (<c>event: kind</c>, <c>data: {"kind": ..., "data":
    /// {camelCase fields}}</c>): <paramref name="data"/> is the inner object. Strings as they are, numbers as their
    /// JSON text, booleans as <c>True</c>/<c>False</c> (as the simulator's trace prints them).
    /// </summary>
    public static CheckedEvent FromJson(string node, string kind, JsonElement data, long at)
    {
        var fields = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (data.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in data.EnumerateObject())
            {
                fields[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString() ?? "",
                    JsonValueKind.True => "True",
                    JsonValueKind.False => "False",
                    _ => property.Value.GetRawText(),
                };
            }
        }

        return new CheckedEvent(node, kind, at, name => fields.GetValueOrDefault(name));
    }

    /// <summary>The value of <c>Name = value</c> in a printed event record (up to the next comma or brace).</summary>
    private static string? PrintedField(string detail, string name)
    {
        var marker = $" {name} = ";
        var start = detail.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += marker.Length;
        var end = detail.IndexOfAny([',', '}'], start);
        return (end < 0 ? detail[start..] : detail[start..end]).TrimEnd();
    }
}
