using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// A span of virtual time written as a number with a unit: <c>250us</c>, <c>5ms</c>, <c>2s</c>, <c>1.5m</c>,
/// <c>1h</c>. Stored as microseconds.
/// </summary>
public readonly record struct Duration(long Microseconds)
{
    /// <summary>Parses a duration; the error says what is expected.</summary>
    public static Duration Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var split = 0;
        while (split < trimmed.Length && (char.IsAsciiDigit(trimmed[split]) || trimmed[split] == '.'))
        {
            split++;
        }

        var unit = trimmed[split..];
        long scale = unit switch
        {
            "us" => 1,
            "ms" => 1_000,
            "s" => 1_000_000,
            "m" => 60_000_000,
            "h" => 3_600_000_000,
            _ => 0,
        };
        if (split == 0 || scale == 0
            || !double.TryParse(trimmed[..split], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
        {
            throw new FormatException($"'{text}' is not a duration: expected a number and a unit (us, ms, s, m, h)");
        }

        return new Duration((long)Math.Round(n * scale));
    }

    /// <inheritdoc />
    public override string ToString() => Microseconds switch
    {
        0 => "0s",
        _ when Microseconds % 3_600_000_000 == 0 => $"{Microseconds / 3_600_000_000}h",
        _ when Microseconds % 60_000_000 == 0 => $"{Microseconds / 60_000_000}m",
        _ when Microseconds % 1_000_000 == 0 => $"{Microseconds / 1_000_000}s",
        _ when Microseconds % 1_000 == 0 => $"{Microseconds / 1_000}ms",
        _ => $"{Microseconds}us",
    };
}

/// <summary>Reads and writes <see cref="Duration"/> as a YAML scalar.</summary>
public sealed class DurationYamlConverter : IYamlTypeConverter
{
    /// <inheritdoc />
    public bool Accepts(Type type) => type == typeof(Duration) || type == typeof(Duration?);

    /// <inheritdoc />
    public object? ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer)
    {
        var scalar = parser.Consume<Scalar>();
        try
        {
            return Duration.Parse(scalar.Value);
        }
        catch (FormatException e)
        {
            throw new YamlException(scalar.Start, scalar.End, e.Message);
        }
    }

    /// <inheritdoc />
    public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer) =>
        emitter.Emit(new Scalar(value?.ToString() ?? ""));
}
