using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Manifests;

/// <summary>
/// A write's version: a hybrid logical clock reading plus the issuing node. Totally ordered by wall time, then
/// logical counter, then node id (ordinal), so two different nodes can never issue equal tokens.
/// </summary>
/// <param name="WallMicroseconds">The HLC's physical part: the largest wall time seen, in microseconds.</param>
/// <param name="Logical">Counter that orders events sharing one wall time; never negative.</param>
/// <param name="Node">The node that issued the token.</param>
public readonly record struct VersionToken(long WallMicroseconds, int Logical, NodeId Node)
    : IComparable<VersionToken>
{
    /// <summary>The most characters in a token's node id; bounds what a hostile peer can make us hold.</summary>
    public const int NodeIdLengthMax = 255;

    /// <summary>Why this token is malformed, or null when it is well formed.</summary>
    public string? Problem()
    {
        if (Logical < 0)
        {
            return $"version token has negative logical counter {Logical}";
        }

        if (string.IsNullOrEmpty(Node.Value))
        {
            return "version token has no node id";
        }

        if (Node.Value.Length > NodeIdLengthMax)
        {
            return $"version token node id has {Node.Value.Length} characters; the limit is {NodeIdLengthMax}";
        }

        return null;
    }

    /// <inheritdoc />
    public int CompareTo(VersionToken other)
    {
        var byWall = WallMicroseconds.CompareTo(other.WallMicroseconds);
        if (byWall != 0)
        {
            return byWall;
        }

        var byLogical = Logical.CompareTo(other.Logical);
        return byLogical != 0 ? byLogical : Node.CompareTo(other.Node);
    }

    /// <summary>True when <paramref name="left"/> orders before <paramref name="right"/>.</summary>
    public static bool operator <(VersionToken left, VersionToken right) => left.CompareTo(right) < 0;

    /// <summary>True when <paramref name="left"/> orders after <paramref name="right"/>.</summary>
    public static bool operator >(VersionToken left, VersionToken right) => left.CompareTo(right) > 0;

    /// <summary>True when <paramref name="left"/> orders before or equals <paramref name="right"/>.</summary>
    public static bool operator <=(VersionToken left, VersionToken right) => left.CompareTo(right) <= 0;

    /// <summary>True when <paramref name="left"/> orders after or equals <paramref name="right"/>.</summary>
    public static bool operator >=(VersionToken left, VersionToken right) => left.CompareTo(right) >= 0;

    /// <summary>
    /// Reads the <see cref="ToString"/> form <c>wall.logical@node</c>; false for anything else (a malformed number,
    /// a negative part, leading zeros, no node id, a node id over <see cref="NodeIdLengthMax"/> characters).
    /// </summary>
    public static bool TryParse(string text, out VersionToken token)
    {
        ArgumentNullException.ThrowIfNull(text);
        token = default;
        var at = text.IndexOf('@', StringComparison.Ordinal);
        var dot = at < 0 ? -1 : text.IndexOf('.', 0, at);
        if (dot <= 0
            || !long.TryParse(text.AsSpan(0, dot), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var wall)
            || !int.TryParse(text.AsSpan(dot + 1, at - dot - 1), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var logical))
        {
            return false;
        }

        var candidate = new VersionToken(wall, logical, new NodeId(text[(at + 1)..]));
        // Only the canonical form: "01.0@n1" named the version "1.0@n1" (a token is compared as text elsewhere).
        if (candidate.Problem() is not null || !string.Equals(candidate.ToString(), text, StringComparison.Ordinal))
        {
            return false;
        }

        token = candidate;
        return true;
    }

    /// <summary><c>wall.logical@node</c>, e.g. <c>1700000000000000.3@n1</c>.</summary>
    public override string ToString() => $"{WallMicroseconds}.{Logical}@{Node}";
}
