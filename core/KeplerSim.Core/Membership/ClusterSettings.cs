using MessagePack;

namespace KeplerSim.Core.Membership;

/// <summary>
/// Cluster-wide settings an operator changes at runtime (today: the replication factor), spread by SWIM on every
/// datagram and push-pull. Concurrent changes converge by last-writer-wins on (<see cref="Version"/>,
/// <see cref="Origin"/>): a change takes the highest version its node has seen plus one, and two changes of the
/// same version are ordered by their origin's id (ordinal). No clock is involved, so every node picks the same
/// winner whatever order the changes arrive in. Member keys are the wire contract: never renumber, only add.
/// </summary>
/// <param name="ReplicationFactor">Copies per chunk the cluster aims for,
/// 1..<see cref="Ring.RingOptions.ReplicationFactorMax"/>.</param>
/// <param name="Version">1 for the first change, then one above the highest the changing node had seen.</param>
/// <param name="Origin">The node whose operator made the change.</param>
[MessagePackObject]
public sealed record ClusterSettings(
    [property: Key(0)] int ReplicationFactor,
    [property: Key(1)] long Version,
    [property: Key(2)] string Origin)
{
    /// <summary>Whether this change wins over <paramref name="other"/> (null: always).</summary>
    public bool Supersedes(ClusterSettings? other) => other is null
        || (Version != other.Version ? Version > other.Version : string.CompareOrdinal(Origin, other.Origin) > 0);

    /// <summary>The persisted form: <c>factor|version|origin</c>.</summary>
    public string Format() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ReplicationFactor}|{Version}|{Origin}");

    /// <summary>Reads <see cref="Format"/>'s output; null when it is not that (or not valid).</summary>
    public static ClusterSettings? Parse(string? text)
    {
        var parts = (text ?? "").Split('|', 3);
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        if (parts.Length != 3 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, culture, out var rf)
            || !long.TryParse(parts[1], System.Globalization.NumberStyles.None, culture, out var version))
        {
            return null;
        }

        var settings = new ClusterSettings(rf, version, parts[2]);
        return SwimCodec.Validate(settings) is null ? settings : null;
    }
}
