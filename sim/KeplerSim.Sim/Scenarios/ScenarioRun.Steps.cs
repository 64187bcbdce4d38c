using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

internal sealed partial class ScenarioRun
{
    private readonly List<(SimNode From, SimNode To)> _linkOverrides = [];
    private readonly List<StepOp> _stepOps = [];
    private readonly List<(int Index, Expectation Result)> _waitResults = [];

    /// <summary>A file operation issued by a step, with what it expects.</summary>
    private sealed record StepOp(ScenarioStep Step, FileOp Op, string? ExpectedHash);

    private SimNode Node(string name) => _sim.FindNode(name)!;

    private void RunStep(ScenarioStep step)
    {
        _sim.RecordStep($"step {step.Index}: {step.Describe()}");
        AddTimeline("step: " + step.Describe());
        Count("steps." + Names.Snake(step.Kind.ToString()));
        switch (step.Kind)
        {
            case StepKind.Start:
                step.Nodes.Select(Node).ToList().ForEach(StartNode);
                break;
            case StepKind.Stop:
                foreach (var node in step.Nodes.Select(Node))
                {
                    node.Crash();
                    _context.Stopped.Add(node.Name);
                    _protocol.OnMembershipChange?.Invoke(_runState, _sim, node, MembershipChange.Left);
                }

                break;
            case StepKind.Crash:
                foreach (var node in step.Nodes.Select(Node))
                {
                    node.Crash();
                    if (step.For is { } delay)
                    {
                        _sim.Schedule(delay.Microseconds, () => RestartIfDown(node));
                    }
                }

                break;
            case StepKind.Restart:
                step.Nodes.Select(Node).ToList().ForEach(n => n.Restart());
                break;
            case StepKind.Pause:
                foreach (var node in step.Nodes.Select(Node))
                {
                    node.Pause();
                    if (step.For is { } delay)
                    {
                        _sim.Schedule(delay.Microseconds, node.Resume);
                    }
                }

                break;
            case StepKind.Resume:
                step.Nodes.Select(Node).ToList().ForEach(n => n.Resume());
                break;
            default:
                RunFaultStep(step);
                break;
        }
    }

    private void RunFaultStep(ScenarioStep step)
    {
        switch (step.Kind)
        {
            case StepKind.Partition:
                for (var i = 0; i < step.Groups.Count; i++)
                {
                    for (var j = i + 1; j < step.Groups.Count; j++)
                    {
                        _sim.Network.Partition(step.Groups[i].Select(Node).ToList(),
                            step.Groups[j].Select(Node).ToList(),
                            step.OneWay);
                    }
                }

                break;
            case StepKind.Heal:
                _sim.Network.Heal();
                break;
            case StepKind.Network:
                ChangeNetwork(step);
                break;
            case StepKind.Corrupt:
                Corrupt(step);
                break;
            case StepKind.Disk:
                step.Nodes.Select(Node).ToList().ForEach(n => n.Disk.Faults = step.DiskChange!.ToFaults());
                break;
            case StepKind.Clock:
                foreach (var node in step.Nodes.Select(Node))
                {
                    if (step.Jump is { } jump)
                    {
                        node.Clock.Jump(jump.Microseconds);
                    }

                    if (step.Skew is not null || step.DriftPpm is not null)
                    {
                        node.Clock.Set(step.Skew?.Microseconds ?? node.Clock.SkewMicroseconds,
                            step.DriftPpm ?? node.Clock.DriftPpm);
                    }
                }

                break;
            case StepKind.WaitUntil:
                StartWait(step);
                break;
            default:
                RunFileStep(step);
                break;
        }
    }

    private void StartNode(SimNode node)
    {
        if (node.State != SimNodeState.Down)
        {
            AddTimeline($"{node.Name} is already up");
            return;
        }

        // A late node's first start is a join, and so is a start after a stop (a rejoin), also of a node that
        // started at time 0: leaving that one out kept it off every ring (chaos regression
        // scenarios/regressions/rejoin-after-stop.yaml).
        var lateJoin = node.Epoch == 0 && !_scenario.Cluster.InitialNodes().Contains(node.Name, StringComparer.Ordinal);
        var rejoin = _context.Stopped.Remove(node.Name);
        node.Start();
        if (lateJoin || rejoin)
        {
            _protocol.OnMembershipChange?.Invoke(_runState, _sim, node, MembershipChange.Joined);
        }
    }

    private void RestartIfDown(SimNode node)
    {
        if (node.State == SimNodeState.Down && !_context.Stopped.Contains(node.Name))
        {
            node.Start();
        }
    }

    private void ChangeNetwork(ScenarioStep step)
    {
        var faults = step.NetworkChange!.ToFaults();
        if (step.From.Count == 0)
        {
            _sim.Network.Defaults = faults;
            return;
        }

        foreach (var from in step.From.Select(Node))
        {
            foreach (var to in step.To.Select(Node).Where(t => !ReferenceEquals(t, from)))
            {
                _sim.Network.SetLinkFaults(from, to, faults);
                _linkOverrides.Add((from, to));
            }
        }
    }

    private void Corrupt(ScenarioStep step)
    {
        var random = new DeterministicRandom(DeterministicRandom.Derive(_seed, $"step/{step.Index}"));
        foreach (var node in step.Nodes.Select(Node))
        {
            var files = _context.Inspector.ChunkFiles(node).Select(f => f.Path).ToList();
            var corrupted = 0;
            while (corrupted < step.Count && files.Count > 0)
            {
                var pick = random.NextInt(files.Count);
                if (node.Disk.Corrupt(files[pick]))
                {
                    corrupted++;
                }

                files.RemoveAt(pick);
            }

            Count("faults.step-corruption", corrupted);
            if (corrupted < step.Count)
            {
                AddTimeline($"{node.Name}: only {corrupted} of {step.Count} chunk file(s) to corrupt");
            }
        }
    }

    private void StartWait(ScenarioStep step)
    {
        var started = _sim.Now;
        var deadline = started + step.Timeout.Microseconds;
        var name = $"step {step.Index} at {step.At}: {step.Describe()}";
        void Poll()
        {
            if (WaitHolds(step.Condition) is not { } failure)
            {
                _waitResults.Add((step.Index, new Expectation(name, ExpectationStatus.Pass,
                    $"held after {Seconds(_sim.Now - started)}")));
                AddTimeline($"wait_until {Names.Snake(step.Condition.ToString())} held");
            }
            else if (_sim.Now >= deadline || _finished)
            {
                _waitResults.Add((step.Index,
                    new Expectation(name, ExpectationStatus.Fail, $"not within {step.Timeout}: {failure}")));
            }
            else
            {
                _sim.Schedule(Math.Min(WaitPollMicroseconds, deadline - _sim.Now), Poll);
            }
        }

        Poll();
    }

    /// <summary>Null when every operation issued to a node's current incarnation has completed (one that is down
    /// for good never will), else how many are pending.</summary>
    private string? PendingOperations() => _ledger.Ops.Count(o => o.Outcome is null && Node(o.Node) is var node
        && node.Epoch == o.Epoch && node.State != SimNodeState.Down) is var n and > 0
        ? $"{n} operation(s) pending"
        : null;

    /// <summary>Null when the condition holds, else why not.</summary>
    private string? WaitHolds(WaitCondition condition) => condition switch
    {
        WaitCondition.AllRunning => InvariantChecks.Check(InvariantCatalog.AllNodesRunning, _context),
        WaitCondition.Healed => _sim.Network.IsPartitioned ? "a partition is in force" : null,
        WaitCondition.QueuesEmpty => _protocol.Capabilities.HasFlag(ProtocolCapabilities.Chunks)
            ? InvariantChecks.Check(InvariantCatalog.QueuesEmpty, _context)
            : null,
        WaitCondition.OpsSettled => PendingOperations(),
        _ => Declared(InvariantPhase.Liveness).Where(i => i != InvariantCatalog.AcknowledgedWritesReadable)
            .Select(i => InvariantChecks.Check(i, _context) is { } f ? $"{i}: {f}" : null)
            .FirstOrDefault(f => f is not null),
    };
}
