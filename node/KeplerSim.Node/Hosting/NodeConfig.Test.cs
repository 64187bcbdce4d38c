using System.Globalization;
using System.Reflection;
using KeplerSim.Core.Node;

namespace KeplerSim.Node.Hosting;

/// <summary>
/// KEPLER_TEST_OPTIONS: a test-only override of core's protocol timings, so that a scenario file run against real
/// processes (<c>kepler-sim run FILE --real</c>) gives the nodes the knobs it gives simulated ones
/// (<c>cluster.keplerfs</c>: surplus grace, anti-entropy interval, chunk size below a MiB, ...). Not for
/// production: nothing checks that the values make sense together beyond core's own limits.
/// </summary>
public sealed partial record NodeConfig
{
    /// <summary>Overrides of <see cref="KeplerOptions"/> integer members by name (KEPLER_TEST_OPTIONS).</summary>
    public IReadOnlyList<KeyValuePair<string, long>> TestOptions { get; init; } = [];

    /// <summary>Parses <c>Name=value,...</c> where each name is an int or long member of
    /// <see cref="KeplerOptions"/> (e.g. <c>SurplusGraceMicroseconds=2000000</c>).</summary>
    private static List<KeyValuePair<string, long>> ParseTestOptions(string? text)
    {
        var result = new List<KeyValuePair<string, long>>();
        const StringSplitOptions Options = StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries;
        foreach (var item in (text ?? "").Split(',', Options))
        {
            var parts = item.Split('=', 2);
            if (parts.Length != 2 || Settable(parts[0]) is null
                || !long.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
                || value < 0
                || (Settable(parts[0])!.PropertyType == typeof(int) && value > int.MaxValue))
            {
                throw new ConfigException("KEPLER_TEST_OPTIONS", $"'{item}' is invalid: expected Name=value with " +
                    "Name an integer member of KeplerOptions (e.g. SurplusGraceMicroseconds) and value >= 0 " +
                    "within its type");
            }

            result.Add(new(parts[0], value));
        }

        return result;
    }

    private static PropertyInfo? Settable(string name) =>
        typeof(KeplerOptions).GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is { CanWrite: true } p
            && (p.PropertyType == typeof(int) || p.PropertyType == typeof(long)) ? p : null;

    /// <summary><paramref name="options"/> with <paramref name="overrides"/> applied (a copy).</summary>
    public static KeplerOptions ApplyTestOptions(KeplerOptions options,
        IReadOnlyList<KeyValuePair<string, long>> overrides)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(overrides);
        if (overrides.Count == 0)
        {
            return options;
        }

        var copy = options with { };
        foreach (var (name, value) in overrides)
        {
            var property = Settable(name)!;
            property.SetValue(copy, property.PropertyType == typeof(int)
                ? checked((int)value) : (object)value);
        }

        return copy;
    }
}
