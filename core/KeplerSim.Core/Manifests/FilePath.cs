using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace KeplerSim.Core.Manifests;

/// <summary>
/// A validated path of a file in the store, in canonical form: one spelling per file, compared ordinally.
/// </summary>
/// <remarks>
/// Rules: segments separated by '/'; no leading '/' (a leading slash is rejected, not stripped, so a path has exactly
/// one spelling — the HTTP gateway strips its own URL prefix); no trailing '/' (that names a directory); no empty,
/// '.' or '..' segments; no NUL, control characters (C0, DEL, C1) or unpaired surrogates; at most
/// <see cref="PathBytesMax"/> bytes of UTF-8 in total and <see cref="SegmentBytesMax"/> per segment. There is no
/// Unicode normalisation: NFC and NFD spellings are different paths. Other characters (spaces, '\', ':') are
/// allowed; paths are keys, never handed to a real file system.
/// </remarks>
public sealed class FilePath : IEquatable<FilePath>, IComparable<FilePath>
{
    /// <summary>The most UTF-8 bytes in a whole path.</summary>
    public const int PathBytesMax = 1024;

    /// <summary>The most UTF-8 bytes in one segment.</summary>
    public const int SegmentBytesMax = 255;

    /// <summary>How many characters of a bad path an error message quotes.</summary>
    private const int QuotedCharsMax = 80;

    private FilePath(string value) => Value = value;

    /// <summary>The canonical text, e.g. <c>photos/2024/cat.jpg</c>.</summary>
    public string Value { get; }

    /// <summary>The last segment (the file's name).</summary>
    public string Name => Value[(Value.LastIndexOf('/') + 1)..];

    /// <summary>Parses a path; <see cref="InvalidPathException"/> says exactly what is wrong.</summary>
    public static FilePath Parse(string text)
    {
        if (!TryParse(text, out var path, out var error))
        {
            throw new InvalidPathException(error);
        }

        return path;
    }

    /// <summary>Parses a path; on failure <paramref name="error"/> says exactly what is wrong.</summary>
    public static bool TryParse(
        [NotNullWhen(true)] string? text,
        [NotNullWhen(true)] out FilePath? path,
        [NotNullWhen(false)] out string? error)
    {
        path = null;
        error = Validate(text);
        if (error is not null)
        {
            return false;
        }

        path = new FilePath(text!);
        return true;
    }

    /// <inheritdoc />
    public bool Equals(FilePath? other) =>
        other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as FilePath);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <inheritdoc />
    public int CompareTo(FilePath? other) => other is null ? 1 : string.CompareOrdinal(Value, other.Value);

    /// <summary>The canonical text.</summary>
    public override string ToString() => Value;

    /// <summary>Ordinal equality.</summary>
    public static bool operator ==(FilePath? left, FilePath? right) =>
        left is null ? right is null : left.Equals(right);

    /// <summary>Ordinal inequality.</summary>
    public static bool operator !=(FilePath? left, FilePath? right) => !(left == right);

    private static string? Validate(string? text)
    {
        if (text is null)
        {
            return "path is missing (null)";
        }

        if (text.Length == 0)
        {
            return "path is empty";
        }

        var characterError = ValidateCharacters(text);
        if (characterError is not null)
        {
            return characterError;
        }

        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > PathBytesMax)
        {
            return $"path {Quote(text)} is {bytes} bytes of UTF-8; the limit is {PathBytesMax}";
        }

        if (text[0] == '/')
        {
            return $"path {Quote(text)} starts with '/'; paths are relative to the store root";
        }

        if (text[^1] == '/')
        {
            return $"path {Quote(text)} ends with '/', which names a directory, not a file";
        }

        return ValidateSegments(text);
    }

    private static string? ValidateCharacters(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return $"path {Quote(text)} contains a NUL character at index {i}";
            }

            if (char.IsControl(c))
            {
                return $"path {Quote(text)} contains control character U+{(int)c:X4} at index {i}";
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                return $"path {Quote(text)} contains an unpaired surrogate U+{(int)c:X4} at index {i}";
            }
        }

        return null;
    }

    private static string? ValidateSegments(string text)
    {
        var position = 1;
        foreach (var range in text.AsSpan().Split('/'))
        {
            var segment = text.AsSpan(range);
            if (segment.IsEmpty)
            {
                return $"path {Quote(text)} has an empty segment at position {position}";
            }

            if (segment is "." or "..")
            {
                return $"path {Quote(text)} has a '{segment}' segment at position {position}";
            }

            var bytes = Encoding.UTF8.GetByteCount(segment);
            if (bytes > SegmentBytesMax)
            {
                return $"path {Quote(text)} has a segment of {bytes} bytes at position {position}; "
                    + $"the limit is {SegmentBytesMax}";
            }

            position++;
        }

        return null;
    }

    // Quotes a bad path for an error message: control characters escaped so the message stays printable and one
    // line, long paths cut so a hostile megabyte of path does not become a megabyte of log.
    private static string Quote(string text)
    {
        var builder = new StringBuilder("'");
        var count = Math.Min(text.Length, QuotedCharsMax);
        for (var i = 0; i < count; i++)
        {
            var c = text[i];
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append($"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        if (text.Length > QuotedCharsMax)
        {
            builder.Append($"…(+{text.Length - QuotedCharsMax} chars)");
        }

        return builder.Append('\'').ToString();
    }
}

/// <summary>A path failed validation; the message says exactly what is wrong.</summary>
public sealed class InvalidPathException(string message) : FormatException(message);
