using KeplerSim.Core.Node;
using YamlDotNet.RepresentationModel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// Parses the <c>steps:</c> list. A step is a mapping with <c>at:</c>, exactly one action key whose value is
/// the step's subject (<c>crash: n2</c>, <c>put: /a/b</c>, <c>partition: [[n1], [n2, n3]]</c>) and the options
/// that action allows. Node names are checked here, against the cluster, with their positions.
/// </summary>
internal sealed class StepParser(YamlBinder binder, Scenario scenario)
{
    private static readonly SortedDictionary<StepKind, string[]> Options = new()
    {
        [StepKind.Start] = [],
        [StepKind.Stop] = [],
        [StepKind.Crash] = ["restart_after"],
        [StepKind.Restart] = ["cluster_key"],
        [StepKind.Pause] = ["for"],
        [StepKind.Resume] = [],
        [StepKind.Partition] = ["one_way"],
        [StepKind.Heal] = [],
        [StepKind.Network] = ["from", "to"],
        [StepKind.Corrupt] = ["chunks"],
        [StepKind.Disk] = ["set"],
        [StepKind.Clock] = ["jump", "skew", "drift_ppm"],
        [StepKind.Put] = ["on", "size", "content", "durability", "expect", "abort_after"],
        [StepKind.Get] = ["on", "expect"],
        [StepKind.Delete] = ["on", "durability", "expect"],
        [StepKind.List] = ["on", "expect", "count"],
        [StepKind.WaitUntil] = ["timeout", "on", "members"],
        [StepKind.Outsider] = ["key"],
        [StepKind.ReplicationFactor] = ["on", "expect"],
    };

    private static readonly SortedDictionary<string, StepKind> Actions =
        new(Enum.GetValues<StepKind>().ToDictionary(k => Names.Snake(k.ToString()), k => k), StringComparer.Ordinal);

    private readonly IReadOnlyList<string> _nodes = scenario.Cluster.NodeNames();

    public List<ScenarioStep> Parse(YamlNode node)
    {
        if (node is not YamlSequenceNode sequence)
        {
            throw binder.Error(node, $"steps: expected a list ('- at: ...' items), got {YamlBinder.Describe(node)}");
        }

        var steps = new List<ScenarioStep>();
        foreach (var item in sequence.Children)
        {
            steps.Add(ParseStep(item, steps.Count));
        }

        return steps;
    }

    private ScenarioStep ParseStep(YamlNode node, int index)
    {
        var path = $"steps[{index}]";
        binder.Source.Add(path, YamlBinder.Position(node));
        var entries = binder.Mapping(node, path);
        var keys = new SortedDictionary<string, YamlNode>(StringComparer.Ordinal);
        (string Name, StepKind Kind, YamlNode Value)? action = null;
        foreach (var (key, value) in entries)
        {
            binder.Source.Add(path + "." + key.Value, YamlBinder.Position(value));
            if (Actions.TryGetValue(key.Value!, out var kind))
            {
                if (action is { } first)
                {
                    throw binder.Error(key,
                        $"a step has one action, but this one has '{first.Name}' and '{key.Value}'");
                }

                action = (key.Value!, kind, value);
            }
            else
            {
                keys[key.Value!] = value;
            }
        }

        if (action is not { } act)
        {
            throw binder.Error(node, $"a step needs an action: one of {string.Join(", ", Actions.Keys)}");
        }

        if (!keys.Remove("at", out var atNode))
        {
            throw binder.Error(node, $"the '{act.Name}' step needs 'at:' (when it runs, e.g. at: 5s)");
        }

        var allowed = Options[act.Kind];
        foreach (var (key, value) in keys)
        {
            if (!allowed.Contains(key))
            {
                var expected = allowed.Length == 0 ? "no options" : "one of at, " + string.Join(", ", allowed);
                throw binder.Error(ParentKey(node, key),
                    $"unknown key '{key}' in a '{act.Name}' step: expected {expected}");
            }
        }

        var at = (Duration)binder.BindScalar(atNode, typeof(Duration));
        if (at.Microseconds > scenario.Duration.Microseconds)
        {
            throw binder.Error(atNode, $"step at {at} is after the end of the run (duration: {scenario.Duration})");
        }

        return Build(act.Kind, act.Value, keys, new StepBase(index, at, YamlBinder.Position(node), path));
    }

    private static YamlNode ParentKey(YamlNode step, string key) =>
        ((YamlMappingNode)step).Children.Keys.First(k => k is YamlScalarNode s && s.Value == key);

    private readonly record struct StepBase(int Index, Duration At, SourcePosition Position, string Path);

    private ScenarioStep Build(StepKind kind, YamlNode value, SortedDictionary<string, YamlNode> o, StepBase b)
    {
        var step = new ScenarioStep { Index = b.Index, Kind = kind, At = b.At, Position = b.Position,
            SourcePath = b.Path };
        return kind switch
        {
            StepKind.Start or StepKind.Stop or StepKind.Resume => WithNodes(step, value),
            StepKind.Restart => Restart(WithNodes(step, value), o),
            StepKind.Outsider => Outsider(WithNodes(step, value), value, o),
            StepKind.Crash => Copy(WithNodes(step, value), forDelay: Opt<Duration?>(o, "restart_after")),
            StepKind.Pause => Copy(WithNodes(step, value), forDelay: Opt<Duration?>(o, "for")),
            StepKind.Partition => Partition(step, value, Opt<bool?>(o, "one_way") ?? false),
            StepKind.Heal => Heal(step, value),
            StepKind.Network => Network(step, value, o),
            StepKind.Corrupt => Copy(WithNodes(step, value), count: Opt<int?>(o, "chunks") ?? 1),
            StepKind.Disk => Disk(step, value, o),
            StepKind.Clock => Clock(step, value, o),
            StepKind.WaitUntil => Wait(step, value, o),
            StepKind.ReplicationFactor => ReplicationFactor(step, value, o),
            _ => FileOperation(step, value, o),
        };
    }

    /// <summary>A restart, optionally with a new keyring (<c>cluster_key: [b, a]</c>, primary first).</summary>
    private ScenarioStep Restart(ScenarioStep step, SortedDictionary<string, YamlNode> o)
    {
        if (!o.TryGetValue("cluster_key", out var keys))
        {
            return step;
        }

        var names = binder.Strings(keys, "");
        if (names.Count is 0 or > Core.Security.ClusterKeyring.KeysMax || names.Any(n => n.Length == 0))
        {
            throw binder.Error(keys, $"cluster_key: expected a list of 1 to {Core.Security.ClusterKeyring.KeysMax} " +
                "key names, primary first, such as [b, a]");
        }

        if (!scenario.Cluster.ClusterKey)
        {
            throw binder.Error(keys, "cluster_key: the cluster runs without a key (cluster.cluster_key: false)");
        }

        var copy = Copy(step);
        copy.ClusterKey = names;
        return copy;
    }

    /// <summary>An outsider attack; <c>key: old</c> seals with a key no node holds (default: no key).</summary>
    private ScenarioStep Outsider(ScenarioStep step, YamlNode value, SortedDictionary<string, YamlNode> o)
    {
        if (scenario.Cluster.Protocol != ProtocolRegistry.KeplerFs)
        {
            throw binder.Error(value, "an outsider step needs the " +
                $"keplerfs protocol, but the cluster runs '{scenario.Cluster.Protocol}'");
        }

        var copy = Copy(step);
        copy.ClusterKey = Opt<string?>(o, "key") is { Length: > 0 } key ? [key] : null;
        return copy;
    }

    /// <summary>
    /// An operator's <c>PUT /api/replication-factor</c> on one node: <c>replication_factor: 2, on: n1</c>, with
    /// <c>expect: ok</c> (the default), <c>error</c> or <c>any</c>.
    /// </summary>
    private ScenarioStep ReplicationFactor(ScenarioStep step, YamlNode value, SortedDictionary<string, YamlNode> o)
    {
        var max = Math.Min(_nodes.Count, Core.Ring.RingOptions.ReplicationFactorMax);
        var factor = (int)binder.BindScalar(value, typeof(int));
        if (factor < 1 || factor > max)
        {
            throw binder.Error(value, $"replication_factor: expected 1..{max} (at most the {_nodes.Count} nodes and " +
                $"{Core.Ring.RingOptions.ReplicationFactorMax}), got {factor}");
        }

        if (!o.TryGetValue("on", out var on))
        {
            throw binder.Error(value, "a replication_factor step needs 'on:' (the node the operator calls)");
        }

        var node = binder.Text(on, "a node name");
        CheckNode(node, on);
        var expect = Opt<ExpectedOutcome?>(o, "expect") ?? ExpectedOutcome.Ok;
        if (expect is not (ExpectedOutcome.Ok or ExpectedOutcome.Error or ExpectedOutcome.Any))
        {
            throw binder.Error(o["expect"], "expect: a replication_factor step expects ok, error or any");
        }

        return new ScenarioStep
        {
            Index = step.Index, Kind = step.Kind, At = step.At, Position = step.Position, SourcePath = step.SourcePath,
            Nodes = [node], Factor = factor, Expect = expect,
        };
    }

    private ScenarioStep Wait(ScenarioStep step, YamlNode value, SortedDictionary<string, YamlNode> o)
    {
        var condition = (WaitCondition)binder.BindScalar(value, typeof(WaitCondition));
        var timeout = Opt<Duration?>(o, "timeout");
        if (condition != WaitCondition.Members)
        {
            var extra = o.Keys.FirstOrDefault(k => k is "on" or "members");
            return extra is null ? Copy(step, condition: condition, timeout: timeout)
                : throw binder.Error(o[extra], $"'{extra}:' is for wait_until: members");
        }

        if (!o.TryGetValue("on", out var on) || !o.TryGetValue("members", out var members))
        {
            throw binder.Error(value, "wait_until: members needs 'on:' (the nodes whose view is checked) and " +
                "'members:' (the member set they must place chunks over)");
        }

        var expected = NodeList(members).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        return new ScenarioStep
        {
            Index = step.Index, Kind = step.Kind, At = step.At, Position = step.Position, SourcePath = step.SourcePath,
            Condition = condition, Timeout = timeout ?? step.Timeout, Nodes = NodeList(on), Members = expected,
        };
    }

    private T Opt<T>(SortedDictionary<string, YamlNode> options, string key) =>
        options.TryGetValue(key, out var node) ? (T)binder.Bind(node, typeof(T), "_option")! : default!;

    private ScenarioStep WithNodes(ScenarioStep step, YamlNode value) => Copy(step, nodes: NodeList(value));

    private List<string> NodeList(YamlNode value)
    {
        if (value is YamlScalarNode { Value: "all" })
        {
            return [.. _nodes];
        }

        var names = binder.Strings(value, "");
        var items = value is YamlSequenceNode seq ? seq.Children.ToList() : [value];
        if (names.Count == 0)
        {
            throw binder.Error(value, "expected at least one node name, got an empty list");
        }

        for (var i = 0; i < names.Count; i++)
        {
            CheckNode(names[i], items[i]);
        }

        return names;
    }

    private void CheckNode(string name, YamlNode where)
    {
        if (!_nodes.Contains(name, StringComparer.Ordinal))
        {
            var known = _nodes.Count <= 12 ? string.Join(", ", _nodes) : $"{_nodes[0]} … {_nodes[^1]}";
            throw binder.Error(where, $"unknown node '{name}': expected one of {known} (or all)");
        }
    }

    private ScenarioStep Partition(ScenarioStep step, YamlNode value, bool oneWay)
    {
        if (value is not YamlSequenceNode { Children.Count: > 0 } sequence)
        {
            throw binder.Error(value, "expected a list of groups ([[n1, n2], [n3]]) or of nodes to isolate ([n3])");
        }

        var groups = new List<IReadOnlyList<string>>();
        if (sequence.Children.All(c => c is YamlSequenceNode))
        {
            foreach (var group in sequence.Children)
            {
                if (((YamlSequenceNode)group).Children.Count == 0)
                {
                    throw binder.Error(group, "a partition group is empty: expected at least one node name");
                }

                groups.Add(NodeList(group));
            }
        }
        else
        {
            var isolated = NodeList(value);
            groups.Add(isolated);
            groups.Add(_nodes.Where(n => !isolated.Contains(n, StringComparer.Ordinal)).ToList());
            if (groups[1].Count == 0)
            {
                throw binder.Error(value, "the partition isolates every node: the other side would be empty");
            }
        }

        var seen = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in groups.SelectMany(g => g))
        {
            if (!seen.Add(name))
            {
                throw binder.Error(value, $"node '{name}' is in more than one partition group");
            }
        }

        if (oneWay && groups.Count != 2)
        {
            throw binder.Error(value, $"a one-way partition needs exactly two groups, got {groups.Count}");
        }

        return Copy(step, groups: groups, oneWay: oneWay);
    }

    private ScenarioStep Heal(ScenarioStep step, YamlNode value)
    {
        var text = binder.Text(value, "all");
        return text == "all" ? step : throw binder.Error(value, $"expected all, got '{text}'");
    }

    private ScenarioStep Network(ScenarioStep step, YamlNode value, SortedDictionary<string, YamlNode> o)
    {
        var change = CopyOf(scenario.Network);
        binder.BindInto(value, change, "network");
        ValidateFaults(value, () => change.ToFaults().Validate());
        var from = o.TryGetValue("from", out var f) ? NodeList(f) : [];
        var to = o.TryGetValue("to", out var t) ? NodeList(t) : [];
        if ((from.Count == 0) != (to.Count == 0))
        {
            throw binder.Error(f ?? t!,
                "a network step names both 'from:' and 'to:' (the links it changes) or neither");
        }

        return Copy(step, networkChange: change, from: from, to: to);
    }

    private ScenarioStep Disk(ScenarioStep step, YamlNode value, SortedDictionary<string, YamlNode> o)
    {
        if (!o.TryGetValue("set", out var set))
        {
            throw binder.Error(value,
                "a disk step needs 'set:' with the disk fields to change (e.g. set: { capacity_mb: 1 })");
        }

        var change = CopyOf(scenario.Disk);
        binder.BindInto(set, change, "disk");
        ValidateFaults(set, () => change.ToFaults().Validate());
        return Copy(WithNodes(step, value), diskChange: change);
    }

    private ScenarioStep Clock(ScenarioStep step, YamlNode value, SortedDictionary<string, YamlNode> o)
    {
        Duration? jump = o.TryGetValue("jump", out var j) ? SignedDuration(j) : null;
        Duration? skew = o.TryGetValue("skew", out var s) ? SignedDuration(s) : null;
        var drift = Opt<double?>(o, "drift_ppm");
        if (jump is null && skew is null && drift is null)
        {
            throw binder.Error(value, "a clock step needs 'jump:', or 'skew:' and/or 'drift_ppm:'");
        }

        return Copy(WithNodes(step, value), jump: jump, skew: skew, drift: drift);
    }

    private void ValidateFaults(YamlNode where, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw binder.Error(where, e.Message);
        }
    }

    private Duration SignedDuration(YamlNode node)
    {
        var text = binder.Text(node, "a duration");
        try
        {
            return Duration.Parse(text, allowNegative: true);
        }
        catch (FormatException e)
        {
            throw binder.Error(node, e.Message);
        }
    }

    private ScenarioStep FileOperation(ScenarioStep step, YamlNode value, SortedDictionary<string, YamlNode> o)
    {
        var path = binder.Text(value, step.Kind == StepKind.List ? "a path prefix" : "a file path");
        if (!o.TryGetValue("on", out var on))
        {
            throw binder.Error(value, $"a {Names.Snake(step.Kind.ToString())} step needs 'on:' (the node it goes to)");
        }

        var node = binder.Text(on, "a node name");
        CheckNode(node, on);
        var expect = Opt<ExpectedOutcome?>(o, "expect") ?? ExpectedOutcome.Ok;
        if (expect == ExpectedOutcome.Equal && step.Kind != StepKind.Get)
        {
            throw binder.Error(o["expect"], "expect: equal is for get steps: expected ok, not_found or error");
        }

        if (expect == ExpectedOutcome.DurabilityNotMet && step.Kind is not (StepKind.Put or StepKind.Delete))
        {
            throw binder.Error(o["expect"], "expect: durability_not_met is for put and delete steps");
        }

        return new ScenarioStep
        {
            Index = step.Index, Kind = step.Kind, At = step.At, Position = step.Position, SourcePath = step.SourcePath,
            Nodes = [node], Path = path, Expect = expect,
            Size = Opt<ByteSize?>(o, "size") ?? new ByteSize(1024),
            Content = Opt<string?>(o, "content"),
            Durability = Opt<Durability?>(o, "durability") ?? Durability.Quorum,
            ExpectCount = Opt<int?>(o, "count"),
            AbortAfter = Opt<ByteSize?>(o, "abort_after"),
        };
    }

    private static T CopyOf<T>(T spec)
        where T : class => (T)typeof(T).GetMethod("MemberwiseClone",
            System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!.Invoke(spec, null)!;

    private static ScenarioStep Copy(ScenarioStep s, IReadOnlyList<string>? nodes = null,
        IReadOnlyList<IReadOnlyList<string>>? groups = null, bool? oneWay = null, Duration? forDelay = null,
        int? count = null, NetworkSpec? networkChange = null, DiskSpec? diskChange = null,
        IReadOnlyList<string>? from = null, IReadOnlyList<string>? to = null, Duration? jump = null,
        Duration? skew = null, double? drift = null, WaitCondition? condition = null, Duration? timeout = null) =>
        new()
        {
            Index = s.Index, Kind = s.Kind, At = s.At, Position = s.Position, SourcePath = s.SourcePath,
            Nodes = nodes ?? s.Nodes, Groups = groups ?? s.Groups, OneWay = oneWay ?? s.OneWay,
            For = forDelay ?? s.For, Count = count ?? s.Count, NetworkChange = networkChange ?? s.NetworkChange,
            DiskChange = diskChange ?? s.DiskChange, From = from ?? s.From, To = to ?? s.To,
            Jump = jump ?? s.Jump, Skew = skew ?? s.Skew, DriftPpm = drift ?? s.DriftPpm,
            Condition = condition ?? s.Condition, Timeout = timeout ?? s.Timeout,
        };
}
