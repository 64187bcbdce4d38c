using KeplerSim.Sim.Invariants;

namespace KeplerSim.Sim.Scenarios;

/// <summary>Semantic checks of a bound scenario; every error points at the offending value.</summary>
internal static class ScenarioValidator
{
    public static void ValidateSections(Scenario s, YamlBinder binder)
    {
        Require(s.Duration.Microseconds > 0, binder, "duration", "duration must be > 0");
        ValidateCluster(s.Cluster, binder);
        Section(binder, "network", () => s.Network.ToFaults().Validate());
        Section(binder, "disk", () => s.Disk.ToFaults().Validate());
        Section(binder, "clock", () => s.Clock.ToFaults().Validate());
        foreach (var (name, value) in SwarmKnobs.Rates(s.Chaos, "chaos"))
        {
            Require(value >= 0, binder, name, $"{name} must be >= 0");
        }

        Require(s.Chaos.Buggify is >= 0 and <= 1, binder, "chaos.buggify", "chaos.buggify must be in [0, 1]");
        ValidateSwarm(s, binder);
        for (var i = 0; i < s.Workloads.Count; i++)
        {
            ValidateWorkload(s, s.Workloads[i], $"workloads[{i}]", binder);
        }

        ValidateExpect(s.Expect, binder);
    }

    public static void ValidateTimeline(Scenario s, YamlBinder binder)
    {
        var files = ProtocolRegistry.CapabilitiesOf(s.Cluster.Protocol).HasFlag(ProtocolCapabilities.Files);
        var initial = new SortedSet<string>(s.Cluster.InitialNodes(), StringComparer.Ordinal);
        var firstStart = new SortedDictionary<string, ScenarioStep>(StringComparer.Ordinal);
        foreach (var step in s.Steps.Where(x => x.Kind == StepKind.Start).OrderBy(x => x.At.Microseconds))
        {
            foreach (var node in step.Nodes)
            {
                firstStart.TryAdd(node, step);
            }
        }

        foreach (var step in s.Steps)
        {
            var action = $"{step.SourcePath}.{Names.Snake(step.Kind.ToString())}";
            if (step.Kind is StepKind.Put or StepKind.Get or StepKind.Delete or StepKind.List && !files)
            {
                throw binder.Error(action, $"a {Names.Snake(step.Kind.ToString())} step needs a protocol with a file " +
                    $"API (keplerfs), but the cluster runs '{s.Cluster.Protocol}'");
            }

            if (step is { Kind: StepKind.WaitUntil, Condition: WaitCondition.Members } && !ProtocolRegistry
                    .CapabilitiesOf(s.Cluster.Protocol).HasFlag(ProtocolCapabilities.Membership))
            {
                throw binder.Error(action, "wait_until: members needs a protocol with its own membership " +
                    $"(keplerfs), but the cluster runs '{s.Cluster.Protocol}'");
            }

            if (step.Kind == StepKind.ReplicationFactor && (s.Cluster.Protocol != ProtocolRegistry.KeplerFs
                    || s.Cluster.Membership != KeplerFs.MembershipMode.Swim))
            {
                throw binder.Error(action, "a replication_factor step needs the keplerfs protocol with membership: " +
                    "swim (gossip spreads the change; a static member list has nothing to spread it)");
            }

            if (step.Kind == StepKind.Outsider && s.Cluster.NodeNames().FirstOrDefault(n =>
                    n.StartsWith(OutsiderAttack.NamePrefix, StringComparison.Ordinal)) is { } taken)
            {
                throw binder.Error(action, $"node '{taken}' has a name outsiders use ('{OutsiderAttack.NamePrefix}" +
                    "...'): rename it");
            }

            // An outsider may aim at a node that is down: its traffic simply finds nobody.
            if (step.Kind is StepKind.Start or StepKind.Partition or StepKind.Network or StepKind.Heal
                or StepKind.WaitUntil or StepKind.Outsider)
            {
                continue;
            }

            foreach (var node in step.Nodes.Where(n => !initial.Contains(n)))
            {
                if (!firstStart.TryGetValue(node, out var start))
                {
                    throw binder.Error(action, $"node '{node}' is never started: add it to cluster.start or add a " +
                        "start step before this one");
                }

                if (start.At.Microseconds > step.At.Microseconds
                    || (start.At == step.At && start.Index > step.Index))
                {
                    throw binder.Error(action, $"node '{node}' is not started until {start.At} (it is not in " +
                        $"cluster.start), but this step runs at {step.At}");
                }
            }

            if (step is { Kind: StepKind.Get, Expect: ExpectedOutcome.Equal } && !s.Steps.Any(p =>
                    p.Kind == StepKind.Put && p.Path == step.Path && Before(p, step)))
            {
                throw binder.Error($"{step.SourcePath}.expect",
                    $"expect: equal compares with an earlier put of '{step.Path}', but no put step of it comes before");
            }
        }
    }

    private static bool Before(ScenarioStep a, ScenarioStep b) =>
        a.At.Microseconds < b.At.Microseconds || (a.At == b.At && a.Index < b.Index);

    private static void ValidateCluster(ClusterSpec c, YamlBinder binder)
    {
        var names = c.NodeNames();
        var where = c.Names is { Count: > 0 } ? "cluster.names" : "cluster.nodes";
        Require(names.Count is >= 1 and <= ClusterSpec.NodesMax, binder, where,
            $"a cluster has 1..{ClusterSpec.NodesMax} nodes, got {names.Count}");
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            Require(name.Length > 0 && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'), binder,
                $"cluster.names[{i}]", $"node name '{name}' may use only letters, digits, '-' and '_'");
            Require(seen.Add(name), binder, $"cluster.names[{i}]", $"node name '{name}' appears twice");
        }

        var known = ProtocolRegistry.KnownNames();
        Require(known.Contains(c.Protocol, StringComparer.Ordinal), binder, "cluster.protocol",
            $"unknown protocol '{c.Protocol}': expected one of {string.Join(", ", known)}");
        for (var i = 0; i < (c.Start?.Count ?? 0); i++)
        {
            Require(seen.Contains(c.Start![i]), binder, $"cluster.start[{i}]",
                $"unknown node '{c.Start[i]}' in cluster.start: expected a name from the cluster");
        }

        ValidateMembership(c, seen, binder);
        Require(c.ReplicationFactor <= names.Count || c.Protocol == ProtocolRegistry.Ping, binder,
            "cluster.replication_factor", $"replication factor {c.ReplicationFactor} exceeds the {names.Count} nodes");
        Section(binder, "cluster", () => c.ToKeplerOptions().Validate());
        Require(c.Ping.Interval.Microseconds >= 2, binder, "cluster.ping.interval", "ping interval must be >= 2us");
        Require(c.Ping.TransferInterval.Microseconds > 0, binder, "cluster.ping.transfer_interval",
            "transfer interval must be > 0");
        Require(c.Ping.TransferSize.Bytes is > 0 and <= int.MaxValue, binder, "cluster.ping.transfer_size",
            "transfer size must be > 0");
    }

    private static void ValidateMembership(ClusterSpec c, SortedSet<string> names, YamlBinder binder)
    {
        var seeds = c.Seeds ?? [];
        Require(c.Seeds is null || c.Membership == KeplerFs.MembershipMode.Swim, binder, "cluster.seeds",
            "cluster.seeds are for membership: swim; a static cluster's members are all its nodes");
        Require(c.Seeds is null || seeds.Count > 0, binder, "cluster.seeds",
            "cluster.seeds is empty: expected at least one node name (or leave it out for the default)");
        for (var i = 0; i < seeds.Count; i++)
        {
            Require(names.Contains(seeds[i]), binder, $"cluster.seeds[{i}]",
                $"unknown node '{seeds[i]}' in cluster.seeds: expected a name from the cluster");
            Require(seeds.IndexOf(seeds[i]) == i, binder, $"cluster.seeds[{i}]",
                $"seed '{seeds[i]}' appears twice");
        }

        Section(binder, "cluster.swim", () => c.Swim.ToOptions().Validate());
    }

    private static void ValidateSwarm(Scenario s, YamlBinder binder)
    {
        var knobs = SwarmKnobs.All(s).Select(k => k.Name).ToList();
        for (var i = 0; i < s.Swarm.Vary.Count; i++)
        {
            Require(knobs.Contains(s.Swarm.Vary[i], StringComparer.Ordinal), binder, $"swarm.vary[{i}]",
                $"unknown rate '{s.Swarm.Vary[i]}': expected one of {string.Join(", ", knobs)}");
        }

        Require(s.Swarm.OffProbability is >= 0 and <= 1, binder, "swarm.off_probability",
            "swarm.off_probability must be in [0, 1]");
        Require(s.Swarm.ScaleMin is >= 0 and <= 1, binder, "swarm.scale_min", "swarm.scale_min must be in [0, 1]");
    }

    private static void ValidateWorkload(Scenario s, WorkloadSpec w, string path, YamlBinder binder)
    {
        Require(ProtocolRegistry.CapabilitiesOf(s.Cluster.Protocol).HasFlag(ProtocolCapabilities.Files), binder,
            path, $"workloads need a protocol with a file API (keplerfs), but the cluster runs '{s.Cluster.Protocol}'");
        Require(w.Name.Length > 0 && w.Name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'), binder,
            path + ".name", "a workload needs a name of letters, digits, '-' and '_'");
        Require(s.Workloads.Count(x => x.Name == w.Name) == 1, binder, path + ".name",
            $"workload name '{w.Name}' appears twice");
        Require(w.Rate is > 0 and <= 100_000, binder, path + ".rate", "rate must be in (0, 100000] ops per second");
        Require(w.Puts >= 0 && w.Gets >= 0 && w.Deletes >= 0 && w.Puts + w.Gets + w.Deletes > 0, binder, path,
            "puts, gets and deletes are weights >= 0 and at least one must be > 0");
        Require(w.SizeMin.Bytes >= 0 && w.SizeMax.Bytes >= w.SizeMin.Bytes && w.SizeMax.Bytes <= 1L << 30, binder,
            path + ".size_max", "sizes need 0 <= size_min <= size_max <= 1GiB");
        Require(w.Paths is >= 1 and <= 1_000_000, binder, path + ".paths", "paths must be 1..1000000");
        Require(w.InFlightMax is >= 1 and <= 1024, binder, path + ".in_flight_max", "in_flight_max must be 1..1024");
        var stop = w.Stop ?? s.Duration;
        Require(stop.Microseconds <= s.Duration.Microseconds, binder, path + ".stop",
            $"stop {stop} is after the end of the run (duration: {s.Duration})");
        Require(w.Start.Microseconds < stop.Microseconds, binder, path + ".start", "start must be before stop");
        var names = s.Cluster.NodeNames();
        for (var i = 0; i < (w.Nodes?.Count ?? 0); i++)
        {
            Require(names.Contains(w.Nodes![i], StringComparer.Ordinal), binder, $"{path}.nodes[{i}]",
                $"unknown node '{w.Nodes[i]}': expected a name from the cluster");
        }
    }

    private static void ValidateExpect(ExpectSpec e, YamlBinder binder)
    {
        Require(e.ConvergeWithin.Microseconds > 0, binder, "expect.converge_within", "converge_within must be > 0");
        Require(e.CheckInterval.Microseconds >= 1_000, binder, "expect.check_interval",
            "check_interval must be >= 1ms");
        for (var i = 0; i < (e.Invariants?.Count ?? 0); i++)
        {
            Require(InvariantCatalog.Names.Contains(e.Invariants![i], StringComparer.Ordinal), binder,
                $"expect.invariants[{i}]",
                $"unknown invariant '{e.Invariants[i]}': expected one of {string.Join(", ", InvariantCatalog.Names)}");
        }

        foreach (var (metric, text) in e.Metrics)
        {
            try
            {
                MetricBound.Parse(metric, text);
            }
            catch (FormatException ex)
            {
                throw binder.Error("expect.metrics." + metric, ex.Message);
            }
        }
    }

    private static void Section(YamlBinder binder, string path, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e)
        {
            throw binder.Error(path, $"{path}: {e.Message}");
        }
    }

    private static void Require(bool condition, YamlBinder binder, string path, string message)
    {
        if (!condition)
        {
            throw binder.Error(path, message);
        }
    }
}
