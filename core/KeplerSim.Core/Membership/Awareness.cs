namespace KeplerSim.Core.Membership;

/// <summary>
/// Lifeguard's local health awareness (memberlist awareness.go): a score that rises when this node misses acks
/// and nacks it should have received (a sign that it, not its peers, is slow) and falls on success. Timeouts are
/// stretched by score + 1, so an overloaded node probes less often and accuses others less eagerly.
/// </summary>
internal sealed class Awareness(int maxMultiplier)
{
    /// <summary>Current health score: 0 is healthy, at most max multiplier − 1.</summary>
    public int Score { get; private set; }

    /// <summary>Moves the score by <paramref name="delta"/>, clamped to its range.</summary>
    public void ApplyDelta(int delta) => Score = Math.Clamp(Score + delta, 0, maxMultiplier - 1);

    /// <summary>Stretches <paramref name="timeoutMicroseconds"/> by the health score.</summary>
    public long Scale(long timeoutMicroseconds) => timeoutMicroseconds * (Score + 1);
}
