using KeplerSim.Core.Ring;

namespace KeplerSim.Core.Runtime;

/// <summary>
/// Immutable values the nodes of one host may share instead of holding equal copies each: member names
/// (<see cref="StringPool"/>) and ring layouts (<see cref="RingLayouts"/>). A real node gets its own with its
/// runtime; the simulator gives every node of a simulation the same one. Sharing only ever swaps a value for an
/// equal one: no decision can depend on it.
/// </summary>
public sealed class SharedValues
{
    /// <summary>Interned member ids and host names.</summary>
    public StringPool Strings { get; } = new();

    /// <summary>Recent ring layouts.</summary>
    public RingLayouts RingLayouts { get; } = new();
}
