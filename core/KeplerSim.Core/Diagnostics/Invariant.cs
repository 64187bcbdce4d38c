namespace KeplerSim.Core;

/// <summary>
/// Always-on assertions (Debug.Assert vanishes in Release). Split compound conditions into several calls so a
/// failure says which part broke.
/// </summary>
public static class Invariant
{
    /// <summary>Throws <see cref="InvariantViolationException"/> when <paramref name="condition"/> is false.</summary>
    public static void That(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message);
        }
    }
}

/// <summary>An internal invariant was broken: a bug, never a user error.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
