using System.Globalization;
using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// Binds YAML representation-model nodes onto the scenario's option classes by reflection: keys are the
/// snake_case names of public settable properties. Strict: unknown keys and wrong types are errors that carry
/// the file, line and column and say what was expected; every bound value's position goes into the
/// <see cref="SourceMap"/> so later semantic checks can point at it too.
/// </summary>
internal sealed class YamlBinder(string file, SourceMap source)
{
    public string File => file;

    public SourceMap Source => source;

    public static SourcePosition Position(YamlNode node) => new(node.Start.Line, node.Start.Column);

    public ScenarioException Error(YamlNode node, string message) => ScenarioException.At(file, Position(node),
        message);

    public ScenarioException Error(string path, string message) =>
        ScenarioException.At(file, source.Find(path), message);

    /// <summary>Binds <paramref name="node"/> as a value of <paramref name="type"/>.</summary>
    public object? Bind(YamlNode node, Type type, string path)
    {
        source.Add(path, Position(node));
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            return BindList(node, type, path);
        }

        if (type == typeof(SortedDictionary<string, string>))
        {
            var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (key, value) in Mapping(node, path))
            {
                source.Add(path + "." + key.Value, Position(value));
                map[key.Value!] = Text(value, "a string");
            }

            return map;
        }

        if (IsScalarType(type))
        {
            return BindScalar(node, type);
        }

        var instance = Activator.CreateInstance(type)
            ?? throw new InvalidOperationException($"cannot create {type.Name}");
        BindInto(node, instance, path);
        return instance;
    }

    /// <summary>Sets the properties of <paramref name="instance"/> named by the keys of a mapping.</summary>
    public void BindInto(YamlNode node, object instance, string path, IReadOnlySet<string>? skip = null)
    {
        var properties = Settable(instance.GetType());
        foreach (var (key, value) in Mapping(node, path))
        {
            var name = key.Value!;
            if (skip?.Contains(name) == true)
            {
                continue;
            }

            if (!properties.TryGetValue(name, out var property))
            {
                var where = path.Length == 0 ? "" : " in " + path;
                throw Error(key, $"unknown key '{name}'{where}: expected one of {string.Join(", ",
                    properties.Where(p => p.Value.GetCustomAttribute<RemovedKeyAttribute>() is null)
                        .Select(p => p.Key))}");
            }

            var childPath = path.Length == 0 ? name : path + "." + name;
            if (property.GetCustomAttribute<RemovedKeyAttribute>() is { } removed)
            {
                throw Error(key, $"'{childPath}' was removed: use {removed.Replacement}");
            }

            property.SetValue(instance, Bind(value, property.PropertyType, childPath));
        }
    }

    /// <summary>The key/value pairs of a mapping, in file order; duplicate keys are errors.</summary>
    public IReadOnlyList<(YamlScalarNode Key, YamlNode Value)> Mapping(YamlNode node, string path)
    {
        if (node is not YamlMappingNode mapping)
        {
            var what = path.Length == 0 ? "the file" : path;
            throw Error(node, $"{what}: expected a mapping (key: value lines), got {Describe(node)}");
        }

        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var result = new List<(YamlScalarNode, YamlNode)>();
        foreach (var (key, value) in mapping.Children)
        {
            if (key is not YamlScalarNode scalar || scalar.Value is null)
            {
                throw Error(key, "expected a plain key");
            }

            if (!seen.Add(scalar.Value))
            {
                throw Error(key, $"duplicate key '{scalar.Value}'");
            }

            result.Add((scalar, value));
        }

        return result;
    }

    /// <summary>The text of a scalar; anything else is an error saying <paramref name="expected"/>.</summary>
    public string Text(YamlNode node, string expected)
    {
        if (node is not YamlScalarNode scalar || scalar.Value is null
            || (scalar.Value.Length == 0 && scalar.Style == YamlDotNet.Core.ScalarStyle.Plain))
        {
            throw Error(node, $"expected {expected}, got {Describe(node)}");
        }

        return scalar.Value;
    }

    /// <summary>A list of names: one scalar or a sequence of scalars.</summary>
    public List<string> Strings(YamlNode node, string path)
    {
        source.Add(path, Position(node));
        if (node is YamlScalarNode)
        {
            return [Text(node, "a name or a list of names")];
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw Error(node, $"expected a name or a list of names, got {Describe(node)}");
        }

        var result = new List<string>();
        var i = 0;
        foreach (var item in sequence.Children)
        {
            source.Add($"{path}[{i++}]", Position(item));
            result.Add(Text(item, "a name"));
        }

        return result;
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode { Value: null or "" } => "nothing",
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "something else",
    };

    public object BindScalar(YamlNode node, Type type)
    {
        var inv = CultureInfo.InvariantCulture;
        if (type == typeof(string))
        {
            return Text(node, "a string");
        }

        if (type.IsEnum)
        {
            var names = Enum.GetNames(type).Select(Names.Snake).ToList();
            var text = Text(node, "one of " + string.Join(", ", names));
            var index = names.IndexOf(text);
            return index >= 0
                ? Enum.GetValues(type).GetValue(index)!
                : throw Error(node, $"expected one of {string.Join(", ", names)}, got '{text}'");
        }

        var (expected, parse) = ScalarParsers[type];
        var value = Text(node, expected);
        try
        {
            return parse(value, inv) ?? throw new FormatException();
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw Error(node, e.Message.StartsWith("expected", StringComparison.Ordinal)
                ? e.Message
                : $"expected {expected}, got '{value}'");
        }
    }

    private object BindList(YamlNode node, Type type, string path)
    {
        var itemType = type.GetGenericArguments()[0];
        if (itemType == typeof(string))
        {
            return Strings(node, path);
        }

        if (node is not YamlSequenceNode sequence)
        {
            throw Error(node, $"{path}: expected a list ('- ' items), got {Describe(node)}");
        }

        var list = (System.Collections.IList)Activator.CreateInstance(type)!;
        var i = 0;
        foreach (var item in sequence.Children)
        {
            list.Add(Bind(item, itemType, $"{path}[{i++}]"));
        }

        return list;
    }

    private static bool IsScalarType(Type type) => type == typeof(string) || type.IsEnum
        || ScalarParsers.ContainsKey(type);

    private static readonly Dictionary<Type, (string Expected, Func<string, CultureInfo, object?> Parse)>
        ScalarParsers = new()
        {
            [typeof(int)] = ("an integer", (s, c) => int.Parse(s, NumberStyles.AllowLeadingSign, c)),
            [typeof(long)] = ("an integer", (s, c) => long.Parse(s, NumberStyles.AllowLeadingSign, c)),
            [typeof(ulong)] = ("a non-negative integer", (s, c) => ulong.Parse(s, NumberStyles.None, c)),
            [typeof(double)] = ("a number", (s, c) => double.Parse(s, NumberStyles.Float, c)),
            [typeof(bool)] = ("true or false", (s, _) => s switch
            {
                "true" => true,
                "false" => false,
                _ => null,
            }),
            [typeof(Duration)] = ("a duration", (s, _) => Duration.Parse(s)),
            [typeof(ByteSize)] = ("a size", (s, _) => ByteSize.Parse(s)),
        };

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type,
        SortedDictionary<string, PropertyInfo>> PropertyCache = new();

    private static SortedDictionary<string, PropertyInfo> Settable(Type type) => PropertyCache.GetOrAdd(type, t =>
    {
        var result = new SortedDictionary<string, PropertyInfo>(StringComparer.Ordinal);
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.SetMethod is { IsPublic: true })
            {
                result[Names.Snake(p.Name)] = p;
            }
        }

        return result;
    });
}
