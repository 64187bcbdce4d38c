using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// Loads scenario files strictly: bad YAML, unknown keys, wrong types, duplicate keys and semantic mistakes
/// (an unknown node, a step before its node starts or after the end) are <see cref="ScenarioException"/>s whose
/// message is <c>file(line,col): what was expected</c>.
/// </summary>
public static class ScenarioLoader
{
    private const string DuplicateKey = "Duplicate key ";

    /// <summary>Loads and validates a scenario file; errors name <paramref name="path"/> as given.</summary>
    public static Scenario LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!System.IO.File.Exists(path))
        {
            throw new ScenarioException($"{path}: file does not exist");
        }

        return Parse(System.IO.File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates scenario text; <paramref name="file"/> names it in errors.</summary>
    public static Scenario Parse(string text, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            var inner = e.InnerException is { } ie && ie.Message != e.Message ? ": " + ie.Message : "";
            var message = e.Message.StartsWith(DuplicateKey, StringComparison.Ordinal)
                ? $"duplicate key '{e.Message[DuplicateKey.Length..]}'"
                : e.Message + inner;
            throw ScenarioException.At(file, new SourcePosition(e.Start.Line, e.Start.Column), message);
        }

        if (stream.Documents.Count == 0)
        {
            throw ScenarioException.At(file, new SourcePosition(1, 1),
                "the file is empty: expected a scenario mapping");
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode;
            throw ScenarioException.At(file, YamlBinder.Position(second), "expected one YAML document, got more");
        }

        var root = stream.Documents[0].RootNode;
        var scenario = new Scenario { File = file };
        var binder = new YamlBinder(file, scenario.Source);
        binder.BindInto(root, scenario, "", new SortedSet<string>(StringComparer.Ordinal) { "steps" });
        ScenarioValidator.ValidateSections(scenario, binder);
        var steps = binder.Mapping(root, "").Where(e => e.Key.Value == "steps").Select(e => e.Value).FirstOrDefault();
        if (steps is not null)
        {
            scenario.Source.Add("steps", YamlBinder.Position(steps));
            scenario.Steps = new StepParser(binder, scenario).Parse(steps);
        }

        ScenarioValidator.ValidateTimeline(scenario, binder);
        return scenario;
    }
}
