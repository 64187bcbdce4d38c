using System.Globalization;
using System.Reflection;
using KeplerSim.Core.Node;
using KeplerSim.Node.Runtime;

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

    /// <summary>
    /// KEPLER_TEST_FAULTS (test only): null unless set. Set, the node runs a <c>TestClock</c> (offset and drift)
    /// and opens its disk with an unlimited quota whose usage is tracked, and the gateway maps
    /// <c>PUT /api/test/clock</c> and <c>PUT /api/test/disk</c> (authenticated like every admin endpoint), so that
    /// a scenario's <c>clock</c> and <c>disk</c> steps can run against a real process.
    /// </summary>
    public TestFaultSettings? TestFaults { get; init; }

    /// <summary>Parses <c>on</c> or <c>clock_skew_us=N,clock_drift_ppm=X,disk_capacity_bytes=N</c> (the clock and
    /// disk quota the node starts with; any may be left out).</summary>
    private static TestFaultSettings? ParseTestFaults(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var settings = new TestFaultSettings(0, 0);
        const StringSplitOptions Options = StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries;
        foreach (var item in text.Trim() == "on" ? [] : text.Split(',', Options))
        {
            var parts = item.Split('=', 2);
            var inv = CultureInfo.InvariantCulture;
            settings = parts switch
            {
                ["clock_skew_us", var v] when long.TryParse(v, NumberStyles.AllowLeadingSign, inv, out var skew)
                    && Math.Abs((double)skew) <= TestClock.OffsetMicrosecondsMax =>
                    settings with { SkewMicroseconds = skew },
                ["disk_capacity_bytes", var v] when long.TryParse(v, NumberStyles.None, inv, out var capacity) =>
                    settings with { DiskCapacityBytes = capacity },
                ["clock_drift_ppm", var v] when double.TryParse(v, NumberStyles.Float, inv, out var drift)
                    && double.IsFinite(drift) && Math.Abs(drift) <= TestClock.DriftPpmMax =>
                    settings with { DriftPpm = drift },
                _ => throw new ConfigException("KEPLER_TEST_FAULTS", $"'{item}' is invalid: expected 'on' or " +
                    $"clock_skew_us=N (|N| <= {TestClock.OffsetMicrosecondsMax}) and clock_drift_ppm=X " +
                    $"(|X| <= {TestClock.DriftPpmMax}) and disk_capacity_bytes=N (N >= 0), comma-separated"),
            };
        }

        return settings;
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

/// <summary>KEPLER_TEST_FAULTS: the clock and disk quota a node with test faults starts with.</summary>
/// <param name="SkewMicroseconds">Wall-clock offset from the host's.</param>
/// <param name="DriftPpm">Rate error in parts per million.</param>
/// <param name="DiskCapacityBytes">The disk quota (null: MAX_DISK_MB, else none).</param>
public sealed record TestFaultSettings(long SkewMicroseconds, double DriftPpm, long? DiskCapacityBytes = null);
