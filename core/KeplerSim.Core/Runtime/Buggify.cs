namespace KeplerSim.Core.Runtime;

/// <summary>
/// Buggify points (FoundationDB style): a named site on a rare path. A real node always answers false; the
/// simulator enables some sites per run and then fires each with a seeded probability.
/// </summary>
public interface IBuggify
{
    /// <summary>Whether the rare path at <paramref name="site"/> should be taken now.</summary>
    bool Hit(string site);
}

/// <summary>The buggify of a real node: never fires.</summary>
public sealed class NoBuggify : IBuggify
{
    /// <summary>The single instance.</summary>
    public static readonly NoBuggify Instance = new();

    /// <inheritdoc />
    public bool Hit(string site) => false;
}
