using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

internal sealed partial class ScenarioRun
{
    /// <summary>How long a stopping node hands its chunks off at most: a real node's default
    /// HANDOFF_TIMEOUT_MS (<c>NodeConfig.HandoffTimeoutMs</c>).</summary>
    private const long StopHandoffTimeoutMicroseconds = 30_000_000;

    /// <summary>How long after its leave and hand-off timeouts a stopping node is ended at the latest.</summary>
    private const long StopGraceMicroseconds = 1_000_000;

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
                step.Nodes.Select(Node).ToList().ForEach(StopNode);
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
                if (step.ClusterKey is { } keys)
                {
                    var ring = _runState.GetOrAdd(SimClusterKeys.RunStateKey, () => new SimClusterKeys(_seed, true));
                    foreach (var name in step.Nodes)
                    {
                        ring.Set(name, keys);
                    }
                }

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
            case StepKind.Outsider:
                _outsider!.Attack(step.Nodes, step.ClusterKey?[0]);
                break;
            case StepKind.ReplicationFactor:
                RunReplicationFactorStep(step);
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

        // A late node's first start is a join, and so is a start after a stop: the node joins through its seeds
        // as a real one does. Nobody tells the others.
        _context.Stopped.Remove(node.Name);
        node.Start();
    }

    /// <summary>
    /// A stop is a shutdown, as SIGTERM on a real node: a running KeplerFS node leaves gracefully
    /// (<see cref="KeplerNode.LeaveAsync"/>: peers mark it left, not dead, and drop it from their rings; it hands its
    /// chunks off for up to the node's default HANDOFF_TIMEOUT_MS), then the process ends. A paused or down node
    /// just ends. The node counts as stopped from the step on.
    /// </summary>
    private void StopNode(SimNode node)
    {
        _context.Stopped.Add(node.Name);
        if (node is not { State: SimNodeState.Running, Program: KeplerNode kepler })
        {
            node.Crash();
            return;
        }

        var epoch = node.Epoch;
        _ = node.Spawn(async _ =>
        {
            await kepler.LeaveAsync(StopHandoffTimeoutMicroseconds);
            _sim.Schedule(0, () => EndStopped(node, epoch));
        });

        // The leave is bounded by its own timeouts; this bounds one that a pause holds up.
        var leave = kepler.Membership?.Options.LeaveTimeoutMicroseconds ?? 0;
        _sim.Schedule(leave + StopHandoffTimeoutMicroseconds + StopGraceMicroseconds, () => EndStopped(node, epoch));
    }

    private void EndStopped(SimNode node, int epoch)
    {
        if (node.Epoch == epoch && _context.Stopped.Contains(node.Name))
        {
            node.Crash();
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
            if (WaitHolds(step) is not { } failure)
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

    /// <summary>Null when each node of the step places chunks over exactly the step's members, else who sees
    /// what.</summary>
    private string? MembersDiffer(ScenarioStep step)
    {
        var expected = string.Join(",", step.Members);
        var differ = step.Nodes.Select(Node).Select(node => (node.Name, View: _protocol.MembershipView?.Invoke(node)))
            .Select(n => (n.Name, Seen: n.View is { } v ? string.Join(",", v.Order(StringComparer.Ordinal)) : null))
            .Where(n => n.Seen != expected).Select(n => $"{n.Name} sees [{n.Seen ?? "nothing (down or starting)"}]")
            .ToList();
        return differ.Count == 0 ? null : $"expected [{expected}]: " + string.Join(", ", differ);
    }

    /// <summary>Null when every operation issued to a node's current incarnation has completed (one that is down
    /// for good never will), else how many are pending.</summary>
    private string? PendingOperations() => _ledger.Ops.Count(o => o.Outcome is null && Node(o.Node) is var node
        && node.Epoch == o.Epoch && node.State != SimNodeState.Down) is var n and > 0
        ? $"{n} operation(s) pending"
        : null;

    /// <summary>Null when the condition holds, else why not.</summary>
    private string? WaitHolds(ScenarioStep step) => step.Condition switch
    {
        WaitCondition.AllRunning => InvariantChecks.Check(InvariantCatalog.AllNodesRunning, _context),
        WaitCondition.Healed => _sim.Network.IsPartitioned ? "a partition is in force" : null,
        WaitCondition.QueuesEmpty => _protocol.Capabilities.HasFlag(ProtocolCapabilities.Chunks)
            ? InvariantChecks.Check(InvariantCatalog.QueuesEmpty, _context)
            : null,
        WaitCondition.OpsSettled => PendingOperations(),
        WaitCondition.Members => MembersDiffer(step),
        _ => Declared(InvariantPhase.Liveness).Where(i => i != InvariantCatalog.AcknowledgedWritesReadable)
            .Select(i => InvariantChecks.Check(i, _context) is { } f ? $"{i}: {f}" : null)
            .FirstOrDefault(f => f is not null),
    };
}
