using System.Globalization;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// A span of virtual time written as a number with a unit: <c>250us</c>, <c>5ms</c>, <c>2s</c>, <c>1.5m</c>,
/// <c>1h</c>. Stored as microseconds. Only clock jumps may be negative (<c>-3s</c>).
/// </summary>
public readonly record struct Duration(long Microseconds)
{
    /// <summary>Parses a non-negative duration; the error says what is expected.</summary>
    public static Duration Parse(string text) => Parse(text, allowNegative: false);

    /// <summary>Parses a duration, with a leading minus sign when <paramref name="allowNegative"/>.</summary>
    public static Duration Parse(string text, bool allowNegative)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var sign = 1;
        if (allowNegative && trimmed.StartsWith('-'))
        {
            sign = -1;
            trimmed = trimmed[1..];
        }

        var split = 0;
        while (split < trimmed.Length && (char.IsAsciiDigit(trimmed[split]) || trimmed[split] == '.'))
        {
            split++;
        }

        long scale = trimmed[split..] switch
        {
            "us" => 1,
            "ms" => 1_000,
            "s" => 1_000_000,
            "m" => 60_000_000,
            "h" => 3_600_000_000,
            _ => 0,
        };
        if (split == 0 || scale == 0 || !double.TryParse(trimmed[..split], NumberStyles.AllowDecimalPoint,
                CultureInfo.InvariantCulture, out var n))
        {
            throw new FormatException(
                $"expected a duration (a number and a unit: us, ms, s, m, h, e.g. 5s), got '{text}'");
        }

        return new Duration(sign * (long)Math.Round(n * scale));
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var sign = Microseconds < 0 ? "-" : "";
        var us = Math.Abs(Microseconds);
        return sign + us switch
        {
            0 => "0s",
            _ when us % 3_600_000_000 == 0 => $"{us / 3_600_000_000}h",
            _ when us % 60_000_000 == 0 => $"{us / 60_000_000}m",
            _ when us % 1_000_000 == 0 => $"{us / 1_000_000}s",
            _ when us % 1_000 == 0 => $"{us / 1_000}ms",
            _ => $"{us}us",
        };
    }
}

/// <summary>
/// A byte count written as a number with an optional unit: <c>512</c>, <c>64KiB</c>, <c>4MiB</c>, <c>1GiB</c>,
/// <c>10KB</c>, <c>5MB</c> (KB/MB/GB are powers of ten, KiB/MiB/GiB powers of two).
/// </summary>
public readonly record struct ByteSize(long Bytes)
{
    /// <summary>Parses a size; the error says what is expected.</summary>
    public static ByteSize Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        var split = 0;
        while (split < trimmed.Length && (char.IsAsciiDigit(trimmed[split]) || trimmed[split] == '.'))
        {
            split++;
        }

        long scale = trimmed[split..].Trim() switch
        {
            "" or "B" => 1,
            "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "KiB" => 1L << 10,
            "MiB" => 1L << 20,
            "GiB" => 1L << 30,
            _ => 0,
        };
        if (split == 0 || scale == 0 || !double.TryParse(trimmed[..split], NumberStyles.AllowDecimalPoint,
                CultureInfo.InvariantCulture, out var n))
        {
            throw new FormatException(
                $"expected a size (a number and a unit: B, KB, MB, GB, KiB, MiB, GiB, e.g. 64KiB), got '{text}'");
        }

        return new ByteSize((long)Math.Round(n * scale));
    }

    /// <inheritdoc />
    public override string ToString() => Bytes switch
    {
        0 => "0B",
        _ when Bytes % (1L << 30) == 0 => $"{Bytes >> 30}GiB",
        _ when Bytes % (1L << 20) == 0 => $"{Bytes >> 20}MiB",
        _ when Bytes % (1L << 10) == 0 => $"{Bytes >> 10}KiB",
        _ => $"{Bytes}B",
    };
}
