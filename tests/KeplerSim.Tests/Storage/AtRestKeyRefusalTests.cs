using KeplerSim.Core.Storage;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// A bad at-rest key (config) is refused with a message that says what is wrong and how to make a good one, and never
/// echoes the text, which is a secret. For the AtRestKey.cs survivors of the eighth session's Stryker run
/// (docs/mutation/storage-survivors-2026-12-07.tsv).
/// </summary>
[Trait("Category", "Fast")]
public sealed class AtRestKeyRefusalTests
{
    [Fact]
    public void A_bad_key_is_refused_with_what_is_wrong_and_how_to_make_one()
    {
        // Kills AtRestKey.cs:28 the length check removed and its message (a 31-byte key was taken), :50 "ThrowIfNull"
        // removed (a NullReferenceException), :54 the not-base64 throw removed (it said "0 bytes") and its message,
        // :59-60 the wrong-length message.
        var shortKey = Assert.Throws<ArgumentException>(() => new AtRestKey(new byte[31]));
        Assert.Equal("key", shortKey.ParamName);
        Assert.StartsWith("an at-rest key is 32 bytes, not 31", shortKey.Message, StringComparison.Ordinal);
        Assert.Equal("text", Assert.Throws<ArgumentNullException>(() => AtRestKey.FromBase64(null!)).ParamName);

        const string secret = "not base64! s3cret";
        var notBase64 = Assert.Throws<FormatException>(() => AtRestKey.FromBase64(secret));
        Assert.Equal("not base64 of 32 bytes (make one with 'openssl rand -base64 32')", notBase64.Message);
        var wrongLength = Assert.Throws<FormatException>(
            () => AtRestKey.FromBase64(Convert.ToBase64String(new byte[31])));
        Assert.Equal("31 bytes: expected 32 (make one with 'openssl rand -base64 32')", wrongLength.Message);
        Assert.Equal(32, AtRestKey.FromBase64(Convert.ToBase64String(new byte[32])).CheckValue.Length);
    }
}
