using KeplerSim.Core.Node;

namespace KeplerSim.Sim.Scenarios;

internal sealed partial class ScenarioRun
{
    /// <summary>
    /// An operator's <c>PUT /api/replication-factor</c> on one node: an input, as a client's put is. The node's
    /// answer (the change it adopted, with its version and origin) tells the checkers which factor the cluster must
    /// converge to: the accepted change that wins by (version, origin), never what a node later believes.
    /// </summary>
    private void RunReplicationFactorStep(ScenarioStep step)
    {
        var node = Node(step.Nodes[0]);
        // Not a file operation: the op only carries the outcome to the step's expectation (never in the ledger).
        var op = new FileOp { Kind = FileOpKind.List, Node = node.Name, Epoch = node.Epoch, IssuedAt = _sim.Now };
        _stepOps.Add(new StepOp(step, op, null));
        if (node.Runtime is null || node.Program is not KeplerNode kepler)
        {
            op.Complete(_sim.Now, "error", "node is down");
            return;
        }

        _ = node.Spawn(async _ =>
        {
            try
            {
                var adopted = await kepler.SetReplicationFactorAsync(step.Factor);
                _context.AcceptReplicationSetting(adopted);
                op.Complete(_sim.Now, "ok", $"version {adopted.Version} from {adopted.Origin}");
            }
            catch (Exception e) when (e is not Core.InvariantViolationException)
            {
                op.Complete(_sim.Now, "error", $"{e.GetType().Name}: {e.Message}");
            }

            AddTimeline($"{step.Describe()} -> {op.Outcome} ({op.Detail})");
            return true;
        });
    }
}
