using System.Globalization;

namespace KeplerSim.Node.Http;

/// <summary>One byte range of a file, resolved against its length.</summary>
internal readonly record struct ByteRange(long Offset, long Length)
{
    /// <summary>
    /// Parses a single-range <c>Range: bytes=a-b</c> header (also <c>a-</c> and <c>-suffix</c>). Null without a
    /// header (or with a unit other than bytes, which RFC 9110 says to ignore). Multiple ranges are not served.
    /// </summary>
    public static ByteRange? Parse(string? header, long size)
    {
        if (string.IsNullOrWhiteSpace(header) || !header.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var spec = header["bytes=".Length..].Trim();
        if (spec.Contains(','))
        {
            throw new RangeNotSatisfiableException("multiple ranges are not supported");
        }

        var dash = spec.IndexOf('-');
        if (dash < 0)
        {
            throw new RangeNotSatisfiableException($"'{header}' is not a byte range");
        }

        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.Length == 0)
        {
            // A suffix: the last N bytes.
            if (!TryParse(last, out var suffix) || suffix == 0 || size == 0)
            {
                throw new RangeNotSatisfiableException($"'{header}' cannot be satisfied for {size} bytes");
            }

            var length = Math.Min(suffix, size);
            return new ByteRange(size - length, length);
        }

        if (!TryParse(first, out var start) || start >= size)
        {
            throw new RangeNotSatisfiableException($"'{header}' cannot be satisfied for {size} bytes");
        }

        var end = size - 1;
        if (last.Length > 0)
        {
            if (!TryParse(last, out end) || end < start)
            {
                throw new RangeNotSatisfiableException($"'{header}' is not a valid byte range");
            }

            end = Math.Min(end, size - 1);
        }

        return new ByteRange(start, end - start + 1);
    }

    private static bool TryParse(string text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
