namespace KeplerSim.Core.Runtime;

/// <summary>
/// A bounded intern pool for the short strings every member of a cluster decodes about every other (node ids and
/// host names from SWIM updates): a node keeps the pool's copy instead of its own. The pool is a fixed table of
/// <see cref="SlotCount"/> slots indexed by the string's hash; a string whose slot holds a different one takes the
/// slot (the other is no longer pooled, its holders keep it), so the pool never holds more than the table and
/// never grows. Only equal strings are ever returned for one another: which copy a node keeps cannot change what
/// it decides. A real node has one per runtime; the simulator one per simulation, so 1000 simulated nodes hold one
/// copy of each member's name instead of a thousand. Not for concurrent use: a host's nodes share one thread.
/// </summary>
public sealed class StringPool
{
    /// <summary>Slots in the table (a power of two).</summary>
    public const int SlotCount = 8192;

    /// <summary>Longest string pooled, in characters (longer ones are returned as they are).</summary>
    public const int CharsMax = 256;

    // Allocated at the first string pooled: a runtime's default pool is replaced by the simulator's shared one at
    // every simulated node start, and 64 KB per start was thrown away (1000 nodes: 64 MB at start-up).
    private string?[]? _slots;

    /// <summary>The pooled string equal to <paramref name="value"/>, pooling it when its slot holds none.</summary>
    public string Intern(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > CharsMax)
        {
            return value;
        }

        _slots ??= new string?[SlotCount];
        ref var slot = ref _slots[Slot(value)];
        if (slot is { } pooled && string.Equals(pooled, value, StringComparison.Ordinal))
        {
            return pooled;
        }

        slot = value;
        return value;
    }

    /// <summary>Strings held now (tests).</summary>
    public int Count => _slots?.Count(s => s is not null) ?? 0;

    // FNV-1a over the UTF-16 code units: the same slot in every process (string hashes are randomized).
    private static int Slot(string value)
    {
        var hash = 2166136261u;
        foreach (var c in value)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash & (SlotCount - 1));
    }
}
