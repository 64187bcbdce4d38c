using CsCheck;
using KeplerSim.Core.Manifests;

namespace KeplerSim.Tests.Manifests;

[Trait("Category", "Fast")]
public sealed class FilePathTests
{
    // Characters a valid segment may draw from: ASCII, punctuation, multi-byte UTF-8, '\' and ':'.
    private const string SegmentChars = "abcxyzABC019 -_.~é漢\\:";

    internal static readonly Gen<string> ValidSegment =
        Gen.String[Gen.Char[SegmentChars], 1, 12].Where(s => s is not "." and not "..");

    internal static readonly Gen<string[]> ValidSegments = ValidSegment.Array[1, 6];

    internal static readonly Gen<string> ValidPath = ValidSegments.Select(s => string.Join('/', s));

    [Theory]
    [InlineData("", "path is empty")]
    [InlineData("/", "path '/' starts with '/'; paths are relative to the store root")]
    [InlineData("/a/b", "path '/a/b' starts with '/'; paths are relative to the store root")]
    [InlineData("a/", "path 'a/' ends with '/', which names a directory, not a file")]
    [InlineData("a//b", "path 'a//b' has an empty segment at position 2")]
    [InlineData("a/b//", "path 'a/b//' ends with '/', which names a directory, not a file")]
    [InlineData(".", "path '.' has a '.' segment at position 1")]
    [InlineData("./a", "path './a' has a '.' segment at position 1")]
    [InlineData("..", "path '..' has a '..' segment at position 1")]
    [InlineData("a/../b", "path 'a/../b' has a '..' segment at position 2")]
    [InlineData("a/b/..", "path 'a/b/..' has a '..' segment at position 3")]
    [InlineData("a\0b", "path 'a\\u0000b' contains a NUL character at index 1")]
    [InlineData("a/\tb", "path 'a/\\u0009b' contains control character U+0009 at index 2")]
    [InlineData("a\nb", "path 'a\\u000Ab' contains control character U+000A at index 1")]
    [InlineData("a\u007Fb", "path 'a\\u007Fb' contains control character U+007F at index 1")]
    [InlineData("a\u0085b", "path 'a\\u0085b' contains control character U+0085 at index 1")]
    public void Bad_paths_are_rejected_with_a_message_that_says_why(string text, string expected)
    {
        var error = Assert.Throws<InvalidPathException>(() => FilePath.Parse(text));
        Assert.Equal(expected, error.Message);

        Assert.False(FilePath.TryParse(text, out var path, out var message));
        Assert.Null(path);
        Assert.Equal(expected, message);
    }

    [Fact]
    public void Unpaired_surrogates_are_rejected_and_pairs_accepted()
    {
        // Built at run time: attribute arguments are stored as UTF-8, which would turn a lone surrogate into U+FFFD.
        var high = "a" + (char)0xD800 + "b";
        var low = "a" + (char)0xDC00;
        Assert.Equal(
            "path 'a\\uD800b' contains an unpaired surrogate U+D800 at index 1",
            Assert.Throws<InvalidPathException>(() => FilePath.Parse(high)).Message);
        Assert.Equal(
            "path 'a\\uDC00' contains an unpaired surrogate U+DC00 at index 1",
            Assert.Throws<InvalidPathException>(() => FilePath.Parse(low)).Message);
        Assert.Equal("a/😀", FilePath.Parse("a/😀").Value);
    }

    [Fact]
    public void Null_is_rejected()
    {
        Assert.False(FilePath.TryParse(null, out _, out var message));
        Assert.Equal("path is missing (null)", message);
        Assert.Throws<InvalidPathException>(() => FilePath.Parse(null!));
    }

    [Fact]
    public void Segment_limit_counts_utf8_bytes()
    {
        var ascii255 = new string('x', FilePath.SegmentBytesMax);
        Assert.Equal(ascii255, FilePath.Parse(ascii255).Value);

        var error = Assert.Throws<InvalidPathException>(() => FilePath.Parse("a/" + ascii255 + "x"));
        Assert.EndsWith("has a segment of 256 bytes at position 2; the limit is 255", error.Message);

        // 128 characters but 256 bytes: 'é' is two bytes of UTF-8.
        var accented = new string('é', 128);
        error = Assert.Throws<InvalidPathException>(() => FilePath.Parse(accented));
        Assert.EndsWith("has a segment of 256 bytes at position 1; the limit is 255", error.Message);
        Assert.Contains("…(+48 chars)", error.Message);
    }

    [Fact]
    public void Path_limit_counts_utf8_bytes()
    {
        // 255 * 3 + 254 + 2 bytes of segments + 4 slashes = 1025 bytes; dropping one byte makes it valid.
        var segment = new string('s', FilePath.SegmentBytesMax);
        var path1025 = string.Join('/', segment, segment, segment, segment[..254], "ab");
        Assert.Equal(FilePath.PathBytesMax + 1, path1025.Length);

        var error = Assert.Throws<InvalidPathException>(() => FilePath.Parse(path1025));
        Assert.EndsWith("is 1025 bytes of UTF-8; the limit is 1024", error.Message);
        Assert.Equal(path1025[1..], FilePath.Parse(path1025[1..]).Value);

        // The limit is in bytes, not characters: 515 characters here are 1025 bytes ('é' is two bytes).
        var accented = string.Join('/', Enumerable.Repeat(new string('é', 100), 5)) + "/" + new string('é', 10);
        Assert.Equal(515, accented.Length);
        Assert.Equal(1025, System.Text.Encoding.UTF8.GetByteCount(accented));
        Assert.Throws<InvalidPathException>(() => FilePath.Parse(accented));
    }

    [Fact]
    public void Paths_compare_ordinally_and_expose_their_name()
    {
        var a = FilePath.Parse("dir/B.txt");
        var b = FilePath.Parse("dir/a.txt");

        Assert.True(a.CompareTo(b) < 0); // 'B' (0x42) sorts before 'a' (0x61)
        Assert.Equal("B.txt", a.Name);
        Assert.Equal("x", FilePath.Parse("x").Name);
        Assert.Equal(FilePath.Parse("dir/a.txt"), b);
        Assert.True(FilePath.Parse("dir/a.txt") == b);
        Assert.NotEqual(FilePath.Parse("Dir/a.txt"), b);
        Assert.NotEqual(FilePath.Parse("e\u0301"), FilePath.Parse("é")); // no Unicode normalisation
    }

    [Fact]
    public void Any_valid_path_round_trips() =>
        ValidPath.Sample(text =>
        {
            var path = FilePath.Parse(text);
            Assert.Equal(text, path.Value);
            Assert.Equal(path, FilePath.Parse(path.ToString()));
            Assert.Equal(text.Split('/')[^1], path.Name);
        }, iter: 2_000);

    [Fact]
    public void Any_path_with_a_dot_dot_segment_is_rejected() =>
        Gen.Select(ValidSegments, Gen.Int[0, 6]).Sample((segments, at) =>
        {
            var position = Math.Min(at, segments.Length);
            var withDotDot = segments.Take(position).Append("..").Concat(segments.Skip(position));
            var text = string.Join('/', withDotDot);

            Assert.False(FilePath.TryParse(text, out _, out var error));
            Assert.EndsWith($"has a '..' segment at position {position + 1}", error);
        }, iter: 2_000);

    [Fact]
    public void Arbitrary_strings_either_parse_to_themselves_or_fail_with_InvalidPathException() =>
        Gen.String[Gen.Char, 0, 40].Sample(text =>
        {
            if (FilePath.TryParse(text, out var path, out var error))
            {
                Assert.Equal(text, path.Value);
            }
            else
            {
                Assert.Equal(error, Assert.Throws<InvalidPathException>(() => FilePath.Parse(text)).Message);
            }
        }, iter: 5_000);
}
