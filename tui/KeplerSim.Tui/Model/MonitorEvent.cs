using System.Globalization;
using System.Text.RegularExpressions;

namespace KeplerSim.Tui.Model;

/// <summary>One event in the log, from any source.</summary>
/// <param name="TimeMicroseconds">Virtual time (simulation, replay), or null.</param>
/// <param name="Wall">Wall-clock time (real cluster), or null.</param>
/// <param name="Node">The node that reported it ("-" for the harness).</param>
/// <param name="Kind">Its kind: a protocol kind such as <c>member.suspect</c>, or <c>node.crashed</c>,
/// <c>partition</c>, <c>step</c>.</param>
/// <param name="Text">Readable details.</param>
/// <param name="Fields">Named values (member, incarnation, chunksLeft, ...), keys in camelCase.</param>
public sealed record MonitorEvent(long? TimeMicroseconds, DateTimeOffset? Wall, string Node, string Kind,
    string Text, IReadOnlyDictionary<string, string> Fields)
{
    /// <summary>The time as display text.</summary>
    public string TimeText => TimeMicroseconds is { } t
        ? Seconds(t)
        : Wall is { } w ? w.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture) : "";

    /// <summary>The named value, or null.</summary>
    public string? Field(string name) => Fields.GetValueOrDefault(name);

    /// <summary>The named value as a number, or null.</summary>
    public long? Number(string name) =>
        long.TryParse(Field(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>The named value as a floating-point number, or null.</summary>
    public double? Real(string name) =>
        double.TryParse(Field(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>Microseconds as seconds with three decimals.</summary>
    public static string Seconds(long microseconds) =>
        string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1e6:0.000}s");
}

/// <summary>Parses the printed form of a protocol event record, as the simulator's trace carries it.</summary>
public static partial class EventText
{
    /// <summary>Longest detail text parsed; longer input is cut (garbage must not cost unbounded work).</summary>
    public const int DetailCharsMax = 4096;

    /// <summary>
    /// Splits <c>"member.suspect MemberSuspectEvent { Member = n3, Incarnation = 0, From = n1 }"</c> into its kind
    /// and fields (<c>member</c>, <c>incarnation</c>, <c>from</c>). Tolerates anything: unknown text gives a kind
    /// and no fields.
    /// </summary>
    public static (string Kind, IReadOnlyDictionary<string, string> Fields) Parse(string? detail)
    {
        var text = detail ?? "";
        if (text.Length > DetailCharsMax)
        {
            text = text[..DetailCharsMax];
        }

        var space = text.IndexOf(' ', StringComparison.Ordinal);
        var kind = space > 0 ? text[..space] : text;
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var open = text.IndexOf('{', StringComparison.Ordinal);
        if (open >= 0)
        {
            var body = text[(open + 1)..].TrimEnd().TrimEnd('}');
            foreach (Match m in FieldPattern().Matches(body))
            {
                fields[Camel(m.Groups[1].Value)] = m.Groups[2].Value.Trim();
            }

            // The record prints its Kind property too; it is already the event's kind.
            fields.Remove("kind");
        }

        return (kind, fields);
    }

    /// <summary>The fields as display text ("member = n3, incarnation = 0"), in name order.</summary>
    public static string Body(IReadOnlyDictionary<string, string> fields) =>
        string.Join(", ", (fields ?? throw new ArgumentNullException(nameof(fields)))
            .Select(kv => $"{kv.Key} = {kv.Value}"));

    /// <summary>The record's printed members in their own order, without its Kind, for display.</summary>
    public static string Display(string? detail)
    {
        var text = detail ?? "";
        if (text.Length > DetailCharsMax)
        {
            text = text[..DetailCharsMax];
        }

        var open = text.IndexOf('{', StringComparison.Ordinal);
        var body = open >= 0 ? text[(open + 1)..].TrimEnd().TrimEnd('}').Trim() : text;
        var kind = KindPrefix().Match(body);
        return kind.Success ? body[kind.Length..] : body;
    }

    [GeneratedRegex(@"^Kind = [^,]*(, |$)")]
    private static partial Regex KindPrefix();

    private static string Camel(string name) =>
        name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];

    [GeneratedRegex(@"(\w+) = ((?:[^,]|,(?! \w+ = ))*)")]
    private static partial Regex FieldPattern();
}
