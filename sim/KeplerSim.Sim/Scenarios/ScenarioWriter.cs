using System.Globalization;
using System.Reflection;
using System.Text;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// Writes a <see cref="Scenario"/> back as scenario YAML in one canonical form: only values that differ from
/// their defaults, sections in declaration order, one flow-style line per step. Parsing the text with
/// <see cref="ScenarioLoader.Parse"/> and writing it again gives the same text, and running it gives the same
/// run; generated chaos cases are handed to users this way.
/// </summary>
public static class ScenarioWriter
{
    private const string Indent = "  ";

    /// <summary>The scenario as YAML, after optional <c>#</c> comment lines.</summary>
    public static string Write(Scenario scenario, IEnumerable<string>? comments = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var text = new StringBuilder();
        foreach (var line in comments ?? [])
        {
            text.Append("# ").AppendLine(line);
        }

        WriteMembers(text, scenario, new Scenario(), "", ["File", "Source", "Workloads", "Steps", "Expect"]);
        if (scenario.Workloads.Count > 0)
        {
            text.AppendLine("workloads:");
            foreach (var workload in scenario.Workloads)
            {
                var body = new StringBuilder();
                WriteMembers(body, workload, new WorkloadSpec(), Indent + Indent, []);
                text.Append(Indent).Append("- ").Append(body.ToString().TrimStart());
            }
        }

        if (scenario.Steps.Count > 0)
        {
            text.AppendLine("steps:");
            foreach (var step in scenario.Steps)
            {
                text.Append(Indent).Append("- ").AppendLine(Step(step, scenario));
            }
        }

        // expect comes last, as in the files people write.
        WriteSection(text, "expect", scenario.Expect, new ExpectSpec(), "");
        return text.ToString();
    }

    /// <summary>One step as a flow mapping: <c>{ at: 1s, crash: n2, restart_after: 2s }</c>.</summary>
    public static string Step(ScenarioStep step, Scenario scenario)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(scenario);
        var parts = new List<string> { "at: " + step.At };
        var action = Names.Snake(step.Kind.ToString());
        switch (step.Kind)
        {
            case StepKind.Partition:
                var groups = step.Groups.Select(g => "[" + string.Join(", ", g) + "]");
                parts.Add($"{action}: [{string.Join(", ", groups)}]");
                AddIf(parts, step.OneWay, "one_way: true");
                break;
            case StepKind.Heal:
                parts.Add($"{action}: all");
                break;
            case StepKind.Network:
                parts.Add($"{action}: {Flow(step.NetworkChange!, scenario.Network)}");
                AddIf(parts, step.From.Count > 0, $"from: {NodeList(step.From)}");
                AddIf(parts, step.To.Count > 0, $"to: {NodeList(step.To)}");
                break;
            case StepKind.Disk:
                parts.Add($"{action}: {NodeList(step.Nodes)}");
                parts.Add($"set: {Flow(step.DiskChange!, scenario.Disk)}");
                break;
            case StepKind.Put or StepKind.Get or StepKind.Delete or StepKind.List:
                FileStep(step, action, parts);
                break;
            case StepKind.ReplicationFactor:
                parts.Add($"{action}: {step.Factor}");
                parts.Add($"on: {step.Nodes[0]}");
                AddIf(parts, step.Expect != ExpectedOutcome.Ok, $"expect: {Names.Snake(step.Expect.ToString())}");
                break;
            case StepKind.WaitUntil:
                parts.Add($"{action}: {Names.Snake(step.Condition.ToString())}");
                AddIf(parts, step.Condition == WaitCondition.Members, $"on: {NodeList(step.Nodes)}");
                AddIf(parts, step.Condition == WaitCondition.Members, $"members: {NodeList(step.Members)}");
                parts.Add($"timeout: {step.Timeout}");
                break;
            default:
                parts.Add($"{action}: {NodeList(step.Nodes)}");
                AddIf(parts, step is { Kind: StepKind.Crash, For: not null }, $"restart_after: {step.For}");
                AddIf(parts, step is { Kind: StepKind.Pause, For: not null }, $"for: {step.For}");
                AddIf(parts, step.Kind == StepKind.Corrupt && step.Count != 1, $"chunks: {step.Count}");
                AddIf(parts, step.Jump is not null, $"jump: {step.Jump}");
                AddIf(parts, step.Skew is not null, $"skew: {step.Skew}");
                AddIf(parts, step.DriftPpm is not null, $"drift_ppm: {Number(step.DriftPpm ?? 0)}");
                if (step.ClusterKey is { } keys)
                {
                    parts.Add(step.Kind == StepKind.Outsider
                        ? $"key: {keys[0]}"
                        : $"cluster_key: [{string.Join(", ", keys)}]");
                }

                break;
        }

        return "{ " + string.Join(", ", parts) + " }";
    }

    private static void FileStep(ScenarioStep step, string action, List<string> parts)
    {
        parts.Add($"{action}: {Scalar(step.Path)}");
        parts.Add($"on: {step.Nodes[0]}");
        if (step.Kind == StepKind.Put)
        {
            parts.Add(step.Content is { } content ? $"content: {Quote(content)}" : $"size: {step.Size}");
            AddIf(parts, step.AbortAfter is not null, $"abort_after: {step.AbortAfter}");
        }

        AddIf(parts, step.Kind is StepKind.Put or StepKind.Delete && step.Durability != Core.Node.Durability.Quorum,
            $"durability: {Names.Snake(step.Durability.ToString())}");
        AddIf(parts, step.Expect != ExpectedOutcome.Ok, $"expect: {Names.Snake(step.Expect.ToString())}");
        AddIf(parts, step.ExpectCount is not null, $"count: {step.ExpectCount}");
    }

    private static void AddIf(List<string> parts, bool condition, string part)
    {
        if (condition)
        {
            parts.Add(part);
        }
    }

    private static string NodeList(IReadOnlyList<string> nodes) =>
        nodes.Count == 1 ? nodes[0] : "[" + string.Join(", ", nodes) + "]";

    /// <summary>The members of <paramref name="value"/> that differ from <paramref name="baseline"/>, as a flow
    /// mapping.</summary>
    private static string Flow(object value, object baseline)
    {
        var parts = Members(value.GetType())
            .Select(p => (Name: Names.Snake(p.Name), Value: Format(p.GetValue(value)),
                Base: Format(p.GetValue(baseline))))
            .Where(m => m.Value != m.Base).Select(m => $"{m.Name}: {m.Value}").ToList();
        return parts.Count == 0 ? "{}" : "{ " + string.Join(", ", parts) + " }";
    }

    private static void WriteMembers(StringBuilder text, object value, object defaults, string indent,
        IReadOnlyCollection<string> skip)
    {
        foreach (var property in Members(value.GetType()).Where(p => !skip.Contains(p.Name)))
        {
            var name = Names.Snake(property.Name);
            var current = property.GetValue(value);
            var initial = property.GetValue(defaults);
            if (current is not null && IsSection(property.PropertyType))
            {
                WriteSection(text, name, current, initial!, indent);
                continue;
            }

            if (current is SortedDictionary<string, string> map)
            {
                if (map.Count > 0)
                {
                    text.Append(indent).Append(name).AppendLine(":");
                    foreach (var (key, bound) in map)
                    {
                        text.Append(indent).Append(Indent).Append(key).Append(": ").AppendLine(Quote(bound));
                    }
                }

                continue;
            }

            var formatted = Format(current);
            if (formatted != Format(initial))
            {
                text.Append(indent).Append(name).Append(": ").AppendLine(formatted);
            }
        }
    }

    private static void WriteSection(StringBuilder text, string name, object value, object defaults, string indent)
    {
        var body = new StringBuilder();
        WriteMembers(body, value, defaults, indent + Indent, []);
        if (body.Length > 0)
        {
            text.Append(indent).Append(name).AppendLine(":").Append(body);
        }
    }

    private static IEnumerable<PropertyInfo> Members(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic
            && p.GetCustomAttribute<RemovedKeyAttribute>() is null);

    private static bool IsSection(Type type) => type.IsClass && type != typeof(string) && !type.IsGenericType;

    private static string Format(object? value) => value switch
    {
        null => "~",
        string s => Scalar(s),
        bool b => b ? "true" : "false",
        double d => Number(d),
        int or long or ulong => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        Enum e => Names.Snake(e.ToString()),
        IEnumerable<string> list => "[" + string.Join(", ", list.Select(Scalar)) + "]",
        _ => value.ToString()!,
    };

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A plain scalar when it is safe in flow and block context, else a double-quoted one.</summary>
    private static string Scalar(string text) =>
        text.Length > 0 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '/' or '-')
        && !char.IsAsciiDigit(text[0]) && text is not ("true" or "false" or "null" or "all")
            ? text
            : Quote(text);

    private static string Quote(string text)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in text)
        {
            quoted.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return quoted.Append('"').ToString();
    }
}
