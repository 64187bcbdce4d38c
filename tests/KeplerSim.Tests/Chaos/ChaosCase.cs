using System.Globalization;
using KeplerSim.Core.Node;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Chaos;

/// <summary>The generated cluster: size, placement and legal keplerfs knobs (milliseconds where timed).</summary>
public sealed record ChaosCluster(
    int Nodes,
    int Initial,
    int ReplicationFactor,
    int ChunkSizeBytes,
    int VirtualNodes,
    int SurplusGraceMs,
    int AntiEntropyMs,
    int ReplicationPollMs,
    int WriteTimeoutMs,
    int ScrubChunksPerSecond,
    bool Swim)
{
    /// <summary>Garbage collection grace (more than the write timeout plus four anti-entropy rounds).</summary>
    public int GcGraceMs { get; init; } = 3_600_000;

    /// <summary>Garbage collection interval.</summary>
    public int GcIntervalMs { get; init; } = 60_000;

    /// <summary>
    /// The periodic repair scan's interval, or 0 to keep it out of the case
    /// (<see cref="ChaosCase.RepairScanIntervalMs"/>).
    /// </summary>
    public int RepairScanMs { get; init; }
}

/// <summary>Membership of a generated cluster; SWIM first, so that shrinking keeps it.</summary>
public enum ChaosMembership
{
    /// <summary>SWIM through seeds, as a deployed node runs.</summary>
    Swim,
    /// <summary>A static member list (the explicit mode).</summary>
    Static,
}

/// <summary>The generated timings of the safety nets, in milliseconds.</summary>
public sealed record ChaosTimings(int AntiEntropyMs, int WriteTimeoutMs, int GcGraceMs, int GcIntervalMs,
    int RepairScanMs);

/// <summary>What a generated step does; file kinds first (the workload), then faults.</summary>
public enum ChaosAction
{
    /// <summary>Put of <see cref="ChaosStep.Size"/> bytes.</summary>
    Put,
    /// <summary>Get.</summary>
    Get,
    /// <summary>Delete.</summary>
    Delete,
    /// <summary>List of the whole path set.</summary>
    List,
    /// <summary>The same path written (even <see cref="ChaosStep.Mask"/>) or deleted (odd) on two nodes at the same
    /// instant: concurrent versions, conflict versions and, for deletes, equal clock readings.</summary>
    Concurrent,
    /// <summary>Crash with torn unsynced writes, restarting after <see cref="ChaosStep.LengthMs"/>.</summary>
    Crash,
    /// <summary>Crash and start again at once.</summary>
    Restart,
    /// <summary>Pause for <see cref="ChaosStep.LengthMs"/>.</summary>
    Pause,
    /// <summary>Partition (<see cref="ChaosStep.Mask"/> against the rest), healed after the length.</summary>
    Partition,
    /// <summary>One-way partition, healed after the length.</summary>
    OneWay,
    /// <summary>Every link gets <see cref="ChaosStep.Size"/> per mille loss and up to that many ms latency.</summary>
    Network,
    /// <summary>Flip a bit in one chunk file of the node.</summary>
    Corrupt,
    /// <summary>The node's disk is full (10 KB) for the length.</summary>
    DiskFull,
    /// <summary>Jump the node's clock by <see cref="ChaosStep.Size"/> ms (may be negative).</summary>
    ClockJump,
    /// <summary>Set the node's clock skew to <see cref="ChaosStep.Size"/> ms and a drift.</summary>
    ClockSkew,
    /// <summary>Start a node (a join if it is a late node, a rejoin after a stop).</summary>
    Start,
    /// <summary>Take the node down for good (a leave).</summary>
    Stop,
    /// <summary>Outsiders without the cluster key (odd <see cref="ChaosStep.Size"/>: an old key) attack the
    /// node: joins, writes, tombstones, replays (invariant <c>outsider_changes_nothing</c>).</summary>
    Outsider,
    /// <summary>The node's disk fails reads (10–100 %, from <see cref="ChaosStep.Size"/>) for the length.</summary>
    ReadErrors,
    /// <summary>Every operation of the node's disk is 5–50 times slower (from <see cref="ChaosStep.Size"/>) for the
    /// length: its copies land late.</summary>
    SlowDisk,
    /// <summary>Cut the link between the node and one other node, both ways, every other link intact (an indirect
    /// path stays), healed after the length.</summary>
    Cut,
    /// <summary>A put of <see cref="ChaosStep.Size"/> bytes whose client disconnects half way (its chunks are
    /// orphans for the garbage collector).</summary>
    AbortedPut,
    /// <summary>An operator's runtime replication factor change on the node (SWIM only): 1 + <see
    /// cref="ChaosStep.Mask"/> modulo the cluster size.</summary>
    ReplicationFactor,
}

/// <summary>One generated step. Node indexes wrap around the cluster size, so the step generator does not depend
/// on the cluster generator and each shrinks on its own.</summary>
public sealed record ChaosStep(int AtMs, ChaosAction Action, int Node, int Path, int Size, Durability Durability,
    int LengthMs, int Mask);

/// <summary>
/// A generated chaos case: cluster, a timeline of explicit workload and fault steps, a run length and a seed.
/// <see cref="ToScenario"/> makes it a legal scenario (it drops what the validator would refuse, and copy-destroying
/// faults beyond what the writes' durability survives), which is what runs and what the user gets as a file.
/// </summary>
public sealed record ChaosCase(ChaosCluster Cluster, IReadOnlyList<ChaosStep> Steps, int DurationMs, ulong Seed)
{
    /// <summary>Paths the workload uses: few, so operations collide.</summary>
    public static readonly IReadOnlyList<string> PathSet = ["d/a", "d/b", "d/c", "e"];

    /// <summary>
    /// How long the liveness phase may take (the stated bound). It must cover SWIM declaring a crashed node dead
    /// with no one to confirm the suspicion: a probe round plus Lifeguard's maximum suspicion timeout (6 × 4 s for
    /// up to 10 members). At 20 s a case whose crashed node was then stopped (so never left) converged after 23.2 s
    /// and failed membership_converged (CsCheck seed 6Ppl-YtNiwP4,
    /// scenarios/regressions/slow-death-without-confirmers.yaml).
    /// </summary>
    public const int ConvergeWithinSeconds = 40;

    /// <summary>
    /// The periodic repair scan's interval: longer than the longest case plus the liveness bound, so the scan that
    /// re-queues lost work never runs inside a case (the scans a start or ring change asks for do). With a scan
    /// inside the bound, a bug that drops queue entries healed before the liveness checks looked.
    /// </summary>
    public const int RepairScanIntervalMs = (ChaosGen.DurationMsMax / 1_000 + ConvergeWithinSeconds) * 1_000 + 5_000;

    private const double FullDiskMb = 0.01;

    /// <summary>The case as a scenario, as it will be written to YAML.</summary>
    public Scenario ToScenario()
    {
        var c = Cluster;
        var scenario = new Scenario
        {
            Name = "chaos-case",
            Description = $"generated chaos case: {c.Nodes} node(s), N={c.ReplicationFactor}",
            Seed = Seed,
            Duration = new Duration(DurationMs * 1000L),
            Cluster = new ClusterSpec
            {
                Nodes = c.Nodes,
                Start = c.Initial < c.Nodes ? [.. Enumerable.Range(0, c.Initial).Select(Name)] : null,
                Protocol = ProtocolRegistry.KeplerFs,
                ReplicationFactor = c.ReplicationFactor,
                ChunkSize = new ByteSize(c.ChunkSizeBytes),
                Keplerfs = new KeplerFsSpec
                {
                    VirtualNodes = c.VirtualNodes,
                    WriteTimeout = Ms(c.WriteTimeoutMs),
                    TransferTimeout = Ms(1000),
                    RetryBase = Ms(50),
                    RetryMax = Ms(1000),
                    ReplicationPoll = Ms(c.ReplicationPollMs),
                    SurplusGrace = Ms(c.SurplusGraceMs),
                    RepairScanInterval = Ms(c.RepairScanMs > 0 ? c.RepairScanMs : RepairScanIntervalMs),
                    AntiEntropyInterval = Ms(c.AntiEntropyMs),
                    GcGrace = Ms(c.GcGraceMs),
                    GcInterval = Ms(c.GcIntervalMs),
                    ScrubChunksPerSecond = c.ScrubChunksPerSecond,
                    ScrubPass = new Duration(0), // the drawn rate (the node spreads a pass over a day)
                },
            },
            Expect = new ExpectSpec
            {
                ConvergeWithin = new Duration(ConvergeWithinSeconds * 1_000_000L),
                CheckInterval = Ms(250),
            },
        };
        SetMembership(scenario, c.Swim ? ChaosMembership.Swim : ChaosMembership.Static);
        scenario.Steps = Timeline(scenario);
        return scenario;
    }

    /// <summary>
    /// Writes the membership choice into the scenario: the one place that knows the format's spelling
    /// (<c>cluster.membership: swim|static</c>; swim is the default and is not written out).
    /// </summary>
    internal static void SetMembership(Scenario scenario, ChaosMembership membership) =>
        scenario.Cluster.Membership = membership == ChaosMembership.Swim
            ? KeplerSim.Sim.KeplerFs.MembershipMode.Swim
            : KeplerSim.Sim.KeplerFs.MembershipMode.Static;

    /// <summary>The case as the scenario YAML a user runs with <c>kepler-sim run</c>.</summary>
    public string ToYaml(IEnumerable<string>? comments = null) => ScenarioWriter.Write(ToScenario(), comments);

    /// <summary>A short description for CsCheck's failure report.</summary>
    public override string ToString() => ToYaml();

    /// <summary>The factor a <see cref="ChaosAction.ReplicationFactor"/> step sets: 1..min(nodes, 8).</summary>
    private int FactorOf(ChaosStep s) =>
        1 + s.Mask % Math.Min(Cluster.Nodes, Core.Ring.RingOptions.ReplicationFactorMax);

    private static string Name(int index) => "n" + (index + 1).ToString(CultureInfo.InvariantCulture);

    private static Duration Ms(long ms) => new(ms * 1000);

    private List<ScenarioStep> Timeline(Scenario scenario)
    {
        var c = Cluster;
        var started = new SortedSet<int>(Enumerable.Range(0, c.Initial));
        // An operator may lower the factor at run time (and trim copies): the lowest factor set bounds every file.
        var lowestFactor = Steps.Where(s => c.Swim && s.Action == ChaosAction.ReplicationFactor && s.AtMs <= DurationMs)
            .Select(FactorOf).Append(c.ReplicationFactor).Min();
        var minCopies = Steps.Where(s => s.Action is ChaosAction.Put or ChaosAction.Concurrent)
            .Select(s => new KeplerOptions { ReplicationFactor = lowestFactor }.RequiredCopies(s.Durability))
            .DefaultIfEmpty(lowestFactor).Min();

        // A stop (the node never returns) or a corruption destroys a copy. An acknowledged write survives fewer
        // destroyed copies than it had durable ones: its durability's copies, but never more than the members
        // there were (N = min(RF, known members)). Members are the initial nodes minus the stops. Under the
        // durability contract (docs/PROTOCOL.md) SWIM no longer shrinks N: a member declared dead still counts, so
        // a node cut off by a crash, pause, partition or lossy link refuses all/quorum instead of acknowledging
        // with its own copy (the chaos long run once found such a write, then its only copy corrupted).
        var (stops, destroyed) = (0, 0);
        var steps = new List<ScenarioStep>();
        foreach (var step in Steps.Where(s => s.AtMs <= DurationMs).OrderBy(s => s.AtMs))
        {
            var node = step.Node % c.Nodes;
            if (!c.Swim && step.Action is ChaosAction.Start or ChaosAction.Stop or ChaosAction.ReplicationFactor)
            {
                // A static member list (PEERS) has no joins or leaves: every member starts at 0 and stays; and the
                // runtime replication factor spreads by SWIM gossip only.
                continue;
            }

            if (c.ScrubChunksPerSecond == 0 && step.Action == ChaosAction.Corrupt)
            {
                // With scrub off only the periodic repair scan finds bit rot, and it is kept outside the liveness
                // bound on purpose (chaos seed dfsdLq9krl21 left a corrupt copy "unrepaired" at the bound). That path
                // is pinned by scenarios/regressions/corrupt-replica-scrub-off.yaml instead.
                continue;
            }

            if (step.Action == ChaosAction.Start)
            {
                started.Add(node);
            }
            else if (step.Action >= ChaosAction.Crash && step.Action is not (ChaosAction.Partition
                or ChaosAction.OneWay or ChaosAction.Network or ChaosAction.Cut or ChaosAction.AbortedPut
                or ChaosAction.ReplicationFactor) && !started.Contains(node))
            {
                continue; // A fault on a node that has not joined yet: the validator would refuse it.
            }

            if (step.Action is ChaosAction.Stop or ChaosAction.Corrupt)
            {
                var stopsAfter = stops + (step.Action == ChaosAction.Stop ? 1 : 0);
                var membersFloor = c.Initial - stopsAfter;
                if (destroyed + 1 > Math.Min(minCopies, membersFloor) - 1)
                {
                    continue;
                }

                (stops, destroyed) = (stopsAfter, destroyed + 1);
            }

            // A file operation goes to the node if it has joined, else to n1 (always started).
            var other = (node + 1) % c.Nodes;
            Add(steps, scenario, step, started.Contains(node) ? node : 0, started.Contains(other) ? other : 0);
        }

        // In time order (heals and disk restores were added at their own times); equal times keep their order.
        return steps.OrderBy(s => s.At.Microseconds).Select((s, i) => Reindex(s, i)).ToList();
    }

    private void Add(List<ScenarioStep> steps, Scenario scenario, ChaosStep s, int node, int other)
    {
        var at = Ms(s.AtMs);
        var nodes = new[] { Name(node) };
        var healAt = Math.Min(DurationMs, s.AtMs + s.LengthMs);
        ScenarioStep Step(StepKind kind, Duration? when = null, string? on = null) => new()
        {
            Index = steps.Count, Kind = kind, At = when ?? at, Nodes = on is null ? nodes : [on],
            SourcePath = $"steps[{steps.Count}]",
        };
        switch (s.Action)
        {
            case ChaosAction.Put or ChaosAction.Get or ChaosAction.Delete or ChaosAction.List:
                var kind = (StepKind)((int)StepKind.Put + (int)s.Action);
                steps.Add(Copy(Step(kind), path: s.Action == ChaosAction.List ? "d" : PathSet[s.Path % PathSet.Count],
                    size: s.Size, durability: s.Durability));
                break;
            case ChaosAction.AbortedPut:
                var sent = Math.Max(2, s.Size);
                steps.Add(Copy(Step(StepKind.Put), path: PathSet[s.Path % PathSet.Count], size: sent,
                    durability: s.Durability) with { AbortAfter = new ByteSize(sent / 2) });
                break;
            case ChaosAction.ReplicationFactor:
                steps.Add(Step(StepKind.ReplicationFactor) with
                {
                    Factor = FactorOf(s), Expect = ExpectedOutcome.Any,
                });
                break;
            case ChaosAction.Concurrent:
                var both = s.Mask % 2 == 0 ? StepKind.Put : StepKind.Delete;
                steps.Add(Copy(Step(both), path: PathSet[s.Path % PathSet.Count], size: s.Size,
                    durability: s.Durability));
                steps.Add(Copy(Step(both, on: Name(other)), path: PathSet[s.Path % PathSet.Count],
                    size: s.Size + 1, durability: s.Durability));
                break;
            case ChaosAction.Cut when Cluster.Nodes > 1:
                var peer = (node + 1 + s.Mask % (Cluster.Nodes - 1)) % Cluster.Nodes;
                steps.Add(Copy(Step(StepKind.Partition), groups: [[Name(node)], [Name(peer)]]));
                steps.Add(Step(StepKind.Heal, Ms(healAt)));
                break;
            case ChaosAction.Cut:
                break;
            case ChaosAction.Crash:
                steps.Add(Copy(Step(StepKind.Crash), length: s.LengthMs));
                break;
            case ChaosAction.Restart:
                steps.Add(Step(StepKind.Restart));
                break;
            case ChaosAction.Pause:
                steps.Add(Copy(Step(StepKind.Pause), length: s.LengthMs));
                break;
            case ChaosAction.Partition or ChaosAction.OneWay:
                var side = Enumerable.Range(0, Cluster.Nodes).Where(i => (s.Mask >> i & 1) == 1).Select(Name).ToList();
                var rest = Enumerable.Range(0, Cluster.Nodes).Select(Name).Except(side).ToList();
                if (side.Count > 0 && rest.Count > 0)
                {
                    steps.Add(Copy(Step(StepKind.Partition), groups: [side, rest],
                        oneWay: s.Action == ChaosAction.OneWay));
                    steps.Add(Step(StepKind.Heal, Ms(healAt)));
                }

                break;
            default:
                AddFault(steps, scenario, s, (kind, when) => Step(kind, when), healAt);
                break;
        }
    }

    private static void AddFault(List<ScenarioStep> steps, Scenario scenario, ChaosStep s,
        Func<StepKind, Duration?, ScenarioStep> step, int healAt)
    {
        switch (s.Action)
        {
            case ChaosAction.Network:
                var network = CopyOf(scenario.Network);
                network.Loss = s.Size % 200 / 1000.0;
                network.LatencyMax = Ms(1 + s.Size % 50);
                steps.Add(Copy(step(StepKind.Network, null), network: network));
                break;
            case ChaosAction.Corrupt:
                steps.Add(step(StepKind.Corrupt, null));
                break;
            case ChaosAction.DiskFull or ChaosAction.ReadErrors or ChaosAction.SlowDisk:
                var faulty = CopyOf(scenario.Disk);
                if (s.Action == ChaosAction.DiskFull)
                {
                    faulty.CapacityMb = FullDiskMb;
                }
                else if (s.Action == ChaosAction.ReadErrors)
                {
                    faulty.ReadErrors = (1 + s.Size % 10) / 10.0;
                }
                else
                {
                    (faulty.Slow, faulty.SlowFactor) = (1, 5 * (1 + s.Size % 10));
                }

                steps.Add(Copy(step(StepKind.Disk, null), disk: faulty));
                steps.Add(Copy(step(StepKind.Disk, Ms(healAt)), disk: CopyOf(scenario.Disk)));
                break;
            case ChaosAction.ClockJump:
                steps.Add(Copy(step(StepKind.Clock, null), jump: Ms(s.Size % 10_001 - 5_000)));
                break;
            case ChaosAction.ClockSkew:
                steps.Add(Copy(step(StepKind.Clock, null), skew: Ms(s.Size % 4_001 - 2_000),
                    drift: s.LengthMs % 2_001 - 1_000));
                break;
            case ChaosAction.Start:
                steps.Add(step(StepKind.Start, null));
                break;
            case ChaosAction.Outsider:
                var outsider = step(StepKind.Outsider, null);
                outsider.ClusterKey = s.Size % 2 == 1 ? ["old"] : null;
                steps.Add(outsider);
                break;
            default:
                steps.Add(step(StepKind.Stop, null));
                break;
        }
    }

    private static T CopyOf<T>(T spec)
        where T : class, new()
    {
        var copy = new T();
        foreach (var p in typeof(T).GetProperties().Where(p => p.CanWrite))
        {
            p.SetValue(copy, p.GetValue(spec));
        }

        return copy;
    }

    private static ScenarioStep Reindex(ScenarioStep s, int index) =>
        s with { Index = index, SourcePath = $"steps[{index}]" };

    private static ScenarioStep Copy(ScenarioStep s, string? path = null, int? size = null,
        Durability? durability = null, int? length = null, IReadOnlyList<IReadOnlyList<string>>? groups = null,
        bool oneWay = false, NetworkSpec? network = null, DiskSpec? disk = null, Duration? jump = null,
        Duration? skew = null, double? drift = null) => s with
    {
        Path = path ?? s.Path, Size = new ByteSize(size ?? s.Size.Bytes),
        Durability = durability ?? s.Durability, Expect = path is null ? s.Expect : ExpectedOutcome.Any,
        For = length is { } ms ? Ms(ms) : s.For, Groups = groups ?? s.Groups, OneWay = oneWay,
        NetworkChange = network, DiskChange = disk, Jump = jump, Skew = skew, DriftPpm = drift,
    };
}
