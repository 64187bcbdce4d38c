using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace KeplerSim.Sim.Scenarios;

/// <summary>Loads scenario files strictly: unknown keys, wrong types and duplicate keys are errors.</summary>
public static class ScenarioLoader
{
    private static readonly IDeserializer Yaml = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithTypeConverter(new DurationYamlConverter())
        .WithEnforceRequiredMembers()
        .WithDuplicateKeyChecking()
        .Build();

    /// <summary>Loads and validates a scenario file.</summary>
    public static Scenario LoadFile(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Parses and validates scenario text; <paramref name="file"/> names it in errors.</summary>
    public static Scenario Parse(string text, string file)
    {
        Scenario? scenario;
        try
        {
            scenario = Yaml.Deserialize<Scenario>(text);
        }
        catch (YamlException e)
        {
            var inner = e.InnerException is { } ie && ie.Message != e.Message ? ": " + ie.Message : "";
            throw new ScenarioException($"{file}({e.Start.Line},{e.Start.Column}): {e.Message}{inner}", e);
        }

        if (scenario is null)
        {
            throw new ScenarioException($"{file}: the file is empty");
        }

        scenario.Validate(file);
        return scenario;
    }
}
