using System.Globalization;

namespace KeplerSim.Sim.Cli;

/// <summary>
/// One share of a swarm, <c>--shard K/N</c>: of the swarm's (file, seed) pairs, taken in order (files ordinally,
/// then seeds), shard K runs every N-th pair starting with the K-th (K counts from 0, as a Kubernetes Indexed Job's
/// <c>JOB_COMPLETION_INDEX</c> does). The N shards are disjoint and together run every pair exactly once.
/// </summary>
/// <param name="Index">K, from 0 to <paramref name="Count"/> − 1.</param>
/// <param name="Count">N, at least 1.</param>
public readonly record struct SwarmShard(int Index, int Count)
{
    /// <summary>Most shards one swarm is split into.</summary>
    public const int CountMax = 100_000;

    /// <summary>The whole swarm: shard 0 of 1.</summary>
    public static SwarmShard Whole => new(0, 1);

    /// <summary>Whether the pair at <paramref name="workIndex"/> of the swarm's pairs is this shard's.</summary>
    public bool Owns(int workIndex) => workIndex % Count == Index;

    /// <summary>Parses <c>K/N</c>; null and an error message when it is not a shard of a swarm.</summary>
    public static SwarmShard? Parse(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        error = null;
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            error = $"--shard must be K/N (two whole numbers, e.g. 0/4), not '{text}'";
            return null;
        }

        if (count is < 1 or > CountMax)
        {
            error = $"--shard {text}: N must be 1..{CountMax}";
            return null;
        }

        if (index >= count)
        {
            error = $"--shard {text}: K counts from 0, so it must be below N (0..{count - 1})";
            return null;
        }

        return new SwarmShard(index, count);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}
