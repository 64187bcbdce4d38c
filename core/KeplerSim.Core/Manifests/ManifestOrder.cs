namespace KeplerSim.Core.Manifests;

/// <summary>Deterministic conflict resolution between versions of one path: the highest version token wins.</summary>
public static class ManifestOrder
{
    /// <summary><see cref="Compare"/> as a comparer, for sorting (ascending: the winner sorts last).</summary>
    public static IComparer<Manifest> Comparer { get; } = Comparer<Manifest>.Create(Compare);

    /// <summary>
    /// Orders by <see cref="Manifest.Version"/>. Tokens from different nodes never tie because the node id is part
    /// of the token; equal tokens mean the same node issued one token twice (a bug or a replay), and the order then
    /// falls to content id, path and origin (all ordinal), so every node still picks the same winner. Returns 0 only
    /// for manifests equal in all of these. A null manifest orders before every manifest.
    /// </summary>
    public static int Compare(Manifest? a, Manifest? b)
    {
        if (ReferenceEquals(a, b))
        {
            return 0;
        }

        if (a is null || b is null)
        {
            return a is null ? -1 : 1;
        }

        var byVersion = a.Version.CompareTo(b.Version);
        if (byVersion != 0)
        {
            return byVersion;
        }

        var byContent = string.CompareOrdinal(a.ContentId, b.ContentId);
        if (byContent != 0)
        {
            return byContent;
        }

        var byPath = a.Path.CompareTo(b.Path);
        return byPath != 0 ? byPath : a.Origin.CompareTo(b.Origin);
    }

    /// <summary>The manifest that wins between <paramref name="a"/> and <paramref name="b"/>.</summary>
    public static Manifest Winner(Manifest a, Manifest b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Compare(a, b) >= 0 ? a : b;
    }
}
