using System.Globalization;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// A nondeterminism planted in one run, for tests of the determinism check only: at virtual time
/// <paramref name="AtMicroseconds"/> the harness draws one extra number from <paramref name="Node"/>'s random
/// stream (madsim's RNG-draw check looks for exactly this), so every later choice the node makes from it can differ
/// from a run without the plant. The protocol code is untouched; nothing in core knows about it.
/// </summary>
/// <param name="Node">The node whose random stream is disturbed.</param>
/// <param name="AtMicroseconds">When.</param>
public sealed record PlantedNondeterminism(string Node, long AtMicroseconds)
{
    /// <summary>Parses <c>NODE@TIME</c> (a scenario duration such as <c>2s</c> or <c>1500ms</c>).</summary>
    public static PlantedNondeterminism Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var at = text.LastIndexOf('@');
        if (at <= 0 || at == text.Length - 1)
        {
            throw new ScenarioException($"plant '{text}': expected NODE@TIME, e.g. n2@1.5s");
        }

        try
        {
            return new PlantedNondeterminism(text[..at], Duration.Parse(text[(at + 1)..]).Microseconds);
        }
        catch (FormatException e)
        {
            throw new ScenarioException($"plant '{text}': {e.Message}");
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Node}@{AtMicroseconds / 1e6}s");
}
