using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace KeplerSim.Sim.Cli;

/// <summary>
/// Swarm outcomes as JUnit XML, for CI systems that show test reports: one test suite per scenario file, one test
/// case per seed; a failing seed carries its first failed expectation and the command that replays it.
/// </summary>
public static class SwarmJUnit
{
    /// <summary>Builds the report; <paramref name="name"/> names the whole run (e.g. the shard).</summary>
    public static XDocument Build(string name, IEnumerable<SwarmOutcome> outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        var suites = outcomes.GroupBy(o => o.File, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Suite(g.Key, g.OrderBy(o => o.Seed).ToList()))
            .ToList();
        return new XDocument(new XElement("testsuites",
            new XAttribute("name", name),
            new XAttribute("tests", suites.Sum(s => (int)s.Attribute("tests")!)),
            new XAttribute("failures", suites.Sum(s => (int)s.Attribute("failures")!)),
            new XAttribute("time", Seconds(suites.Sum(s => (double)s.Attribute("time")!))),
            suites));
    }

    /// <summary>Writes the report to <paramref name="path"/> (UTF-8, indented).</summary>
    public static void Write(string path, string name, IEnumerable<SwarmOutcome> outcomes)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var writer = XmlWriter.Create(path, new XmlWriterSettings { Encoding = new UTF8Encoding(false),
            Indent = true });
        Build(name, outcomes).Save(writer);
    }

    private static XElement Suite(string file, IReadOnlyList<SwarmOutcome> runs) =>
        new("testsuite",
            new XAttribute("name", file),
            new XAttribute("tests", runs.Count),
            new XAttribute("failures", runs.Count(r => !r.Passed)),
            new XAttribute("errors", 0),
            new XAttribute("time", Seconds(runs.Sum(r => r.WallSeconds))),
            runs.Select(r => Case(file, r)));

    private static XElement Case(string file, SwarmOutcome run)
    {
        var element = new XElement("testcase",
            new XAttribute("classname", file),
            new XAttribute("name", string.Create(CultureInfo.InvariantCulture, $"seed {run.Seed}")),
            new XAttribute("time", Seconds(run.WallSeconds)));
        if (!run.Passed)
        {
            element.Add(new XElement("failure",
                new XAttribute("message", run.Failure ?? "failed"),
                new XAttribute("type", "expectation"),
                $"{run.Failure}\ntrace hash: {run.TraceHash}\nreplay: {run.Replay}\n"));
        }

        return element;
    }

    private static string Seconds(double seconds) => seconds.ToString("0.000", CultureInfo.InvariantCulture);
}
