using System.Runtime.CompilerServices;

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

    /// <summary>
    /// Throws <see cref="InvariantViolationException"/> when <paramref name="condition"/> is false; an interpolated
    /// message is formatted only then (as <c>Debug.Assert</c>'s): checks on hot paths, such as the simulator's
    /// seam check before every disk and network call, formatted a node's name into a string each time they held
    /// (issue 14: about 1 % of a simulated steady state's allocations).
    /// </summary>
    public static void That(bool condition,
        [InterpolatedStringHandlerArgument(nameof(condition))] ref MessageHandler message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message.ToStringAndClear());
        }
    }

    /// <summary>Builds an invariant's interpolated message only when the condition is false.</summary>
    [InterpolatedStringHandler]
    public ref struct MessageHandler
    {
        private DefaultInterpolatedStringHandler _text;

        /// <summary>Starts the message; <paramref name="shouldAppend"/> is false (nothing formatted) when the
        /// condition holds.</summary>
        public MessageHandler(int literalLength, int formattedCount, bool condition, out bool shouldAppend)
        {
            _text = condition ? default : new DefaultInterpolatedStringHandler(literalLength, formattedCount);
            shouldAppend = !condition;
        }

        /// <summary>Appends literal text.</summary>
        public void AppendLiteral(string value) => _text.AppendLiteral(value);

        /// <summary>Appends a formatted value.</summary>
        public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

        /// <summary>Appends a formatted value with a format string.</summary>
        public void AppendFormatted<T>(T value, string? format) => _text.AppendFormatted(value, format);

        /// <summary>Appends a string.</summary>
        public void AppendFormatted(string? value) => _text.AppendFormatted(value);

        /// <summary>The message.</summary>
        internal string ToStringAndClear() => _text.ToStringAndClear();
    }
}

/// <summary>An internal invariant was broken: a bug, never a user error.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
