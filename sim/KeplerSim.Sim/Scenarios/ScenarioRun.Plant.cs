namespace KeplerSim.Sim.Scenarios;

/// <summary>The determinism check's test hook (see <see cref="PlantedNondeterminism"/>).</summary>
internal sealed partial class ScenarioRun
{
    /// <summary>A nondeterminism to plant in this run (tests of the determinism check only); none by default.</summary>
    public PlantedNondeterminism? Nondeterminism { get; init; }

    private void PlantNondeterminism()
    {
        if (Nondeterminism is not { } plant)
        {
            return;
        }

        var node = _sim.FindNode(plant.Node) ?? throw new ScenarioException(
            $"plant {plant}: the scenario has no node '{plant.Node}'");

        // A kernel event that traces nothing: the only difference from an unplanted run is the extra draw, which
        // shifts every later number the node's protocol code takes from its random stream.
        _sim.Schedule(plant.AtMicroseconds, () => node.Runtime?.Random.NextUInt64());
    }
}
