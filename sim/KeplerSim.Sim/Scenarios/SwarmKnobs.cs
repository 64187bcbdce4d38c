using System.Globalization;
using System.Reflection;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// The fault rates swarm testing may vary (<c>section.key</c>), and the per-seed randomisation: each rate listed
/// in <c>swarm.vary</c> is switched off with <c>off_probability</c>, else scaled by a factor in
/// [<c>scale_min</c>, 1], all drawn from <c>Derive(seed, "swarm")</c>.
/// </summary>
public static class SwarmKnobs
{
    private static readonly string[] Sections = ["network", "disk", "clock", "chaos"];

    private static readonly SortedSet<string> Excluded = new(StringComparer.Ordinal)
    {
        "network.latency_min", "network.latency_max", "network.reorder_delay_max", "network.bandwidth_mbps",
        "disk.latency_min", "disk.latency_max", "chaos.restart_delay", "chaos.pause_max", "chaos.partition_max",
    };

    /// <summary>A variable rate: its name, the object holding it and the property.</summary>
    public readonly record struct Knob(string Name, object Owner, PropertyInfo Property);

    /// <summary>Every knob of <paramref name="scenario"/> that swarm may vary, in a fixed order.</summary>
    public static IReadOnlyList<Knob> All(Scenario scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var owners = new object[] { scenario.Network, scenario.Disk, scenario.Clock, scenario.Chaos };
        var result = new List<Knob>();
        for (var i = 0; i < Sections.Length; i++)
        {
            foreach (var p in owners[i].GetType().GetProperties().OrderBy(p => p.Name, StringComparer.Ordinal))
            {
                var name = Sections[i] + "." + Names.Snake(p.Name);
                if ((p.PropertyType == typeof(double) || p.PropertyType == typeof(Duration))
                    && !Excluded.Contains(name))
                {
                    result.Add(new Knob(name, owners[i], p));
                }
            }
        }

        return result;
    }

    /// <summary>The double-valued rates of one section object, named <c>prefix.key</c>.</summary>
    public static IEnumerable<(string Name, double Value)> Rates(object section, string prefix)
    {
        ArgumentNullException.ThrowIfNull(section);
        return section.GetType().GetProperties().Where(p => p.PropertyType == typeof(double))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => (prefix + "." + Names.Snake(p.Name), (double)p.GetValue(section)!));
    }

    /// <summary>
    /// Randomises the listed rates of <paramref name="scenario"/> in place for <paramref name="seed"/>; returns
    /// what it chose, one <c>name=value</c> per knob, for the report.
    /// </summary>
    public static IReadOnlyList<string> Apply(Scenario scenario, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var random = new DeterministicRandom(DeterministicRandom.Derive(seed, "swarm"));
        var chosen = new List<string>();
        var vary = new SortedSet<string>(scenario.Swarm.Vary, StringComparer.Ordinal);
        foreach (var knob in All(scenario).Where(k => vary.Contains(k.Name)))
        {
            var factor = random.Chance(scenario.Swarm.OffProbability)
                ? 0
                : scenario.Swarm.ScaleMin + (1 - scenario.Swarm.ScaleMin) * random.NextDouble();
            if (knob.Property.PropertyType == typeof(double))
            {
                var value = (double)knob.Property.GetValue(knob.Owner)! * factor;
                knob.Property.SetValue(knob.Owner, value);
                chosen.Add(string.Create(CultureInfo.InvariantCulture, $"{knob.Name}={value:G4}"));
            }
            else
            {
                var value = new Duration((long)(((Duration)knob.Property.GetValue(knob.Owner)!).Microseconds * factor));
                knob.Property.SetValue(knob.Owner, value);
                chosen.Add($"{knob.Name}={value}");
            }
        }

        return chosen;
    }
}
