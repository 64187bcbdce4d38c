namespace KeplerSim.Core.Runtime;

/// <summary>
/// A seeded random source. Its sequence depends only on its seed (never on the .NET version), so a simulated
/// run replays bit for bit.
/// </summary>
public interface IRandom
{
    /// <summary>The next 64 random bits.</summary>
    ulong NextUInt64();

    /// <summary>A uniform integer in [0, <paramref name="maxExclusive"/>).</summary>
    int NextInt(int maxExclusive);

    /// <summary>A uniform integer in [<paramref name="minInclusive"/>, <paramref name="maxExclusive"/>).</summary>
    long NextLong(long minInclusive, long maxExclusive);

    /// <summary>A uniform double in [0, 1).</summary>
    double NextDouble();

    /// <summary>True with probability <paramref name="probability"/>.</summary>
    bool Chance(double probability);

    /// <summary>Fills <paramref name="buffer"/> with random bytes.</summary>
    void NextBytes(Span<byte> buffer);

    /// <summary>An independent stream derived from this one's seed and <paramref name="label"/>.</summary>
    IRandom Fork(string label);
}
