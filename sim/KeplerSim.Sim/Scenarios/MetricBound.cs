using System.Globalization;

namespace KeplerSim.Sim.Scenarios;

/// <summary>A bound on a run metric, written <c>"&gt;= 10"</c>, <c>"&lt;= 2.5"</c>, <c>"== 0"</c>.</summary>
public sealed record MetricBound(string Metric, string Operator, double Value)
{
    private static readonly string[] Operators = [">=", "<=", "==", "!=", ">", "<"];

    /// <summary>Parses the bound text; the error says what is expected.</summary>
    public static MetricBound Parse(string metric, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var op = Operators.FirstOrDefault(o => trimmed.StartsWith(o, StringComparison.Ordinal));
        if (op is null || !double.TryParse(trimmed[op.Length..], NumberStyles.Float, CultureInfo.InvariantCulture,
                out var value))
        {
            var operators = string.Join(" ", Operators);
            throw new FormatException($"expected a bound like '>= 10' (operators: {operators}), got '{text}'");
        }

        return new MetricBound(metric, op, value);
    }

    /// <summary>Whether <paramref name="actual"/> is within the bound.</summary>
    public bool Holds(double actual) => Operator switch
    {
        ">=" => actual >= Value,
        "<=" => actual <= Value,
        "==" => actual == Value,
        "!=" => actual != Value,
        ">" => actual > Value,
        _ => actual < Value,
    };

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Metric} {Operator} {Value}");
}
