using KeplerSim.Core.Security;

namespace KeplerSim.Tests.Security;

/// <summary>
/// The keyring's bounds and its key derivation against known answers, and the drop counters' bookkeeping
/// (docs/PROTOCOL.md, "Cluster key": "Keys" and "Counted drops").
/// </summary>
[Trait("Category", "Fast")]
public sealed class KeyringTests
{
    private static byte[] Secret(int i) => Enumerable.Repeat((byte)i, ClusterKeyring.KeyBytes).ToArray();

    // Kills in ClusterKeyring.cs: 40 '>= KeysMax' and 56 'parts.Length >= KeysMax' (a keyring of the full eight keys
    // was refused), 42 and 58 (the throw dropped: nine keys accepted, or refused as an ArgumentException from Of
    // rather than Parse's FormatException) and their messages ('$""').
    [Fact]
    public void A_keyring_holds_up_to_eight_keys_and_a_ninth_is_refused_by_name()
    {
        var eight = Enumerable.Range(1, ClusterKeyring.KeysMax).Select(Secret).ToArray();
        Assert.Equal(ClusterKeyring.KeysMax, ClusterKeyring.Of(eight).Keys.Count);
        var text = string.Join(",", eight.Select(Convert.ToBase64String));
        Assert.Equal(ClusterKeyring.KeysMax, ClusterKeyring.Parse(text).Keys.Count);

        var nine = eight.Append(Secret(9)).ToArray();
        Assert.Contains("a keyring holds 1 to 8 keys, not 9",
            Assert.Throws<ArgumentException>(() => ClusterKeyring.Of(nine)).Message);
        Assert.Contains("holds 9 keys; at most 8", Assert.Throws<FormatException>(() =>
            ClusterKeyring.Parse(text + "," + Convert.ToBase64String(Secret(9)))).Message);
    }

    // Kills in ClusterKeyring.cs:96 (the length check's throw dropped: a 16-byte secret was installed as a cluster
    // key) and its message.
    [Fact]
    public void A_secret_of_the_wrong_length_is_refused()
    {
        Assert.Contains("a cluster key is 32 bytes",
            Assert.Throws<ArgumentException>(() => ClusterKeyring.Of(new byte[16])).Message);
        Assert.Throws<ArgumentException>(() => ClusterKeyring.Of(new byte[33]));
    }

    // Kills in ClusterKeyring.cs: 39, 54 and 93 (each argument check dropped: a NullReferenceException instead).
    [Fact]
    public void Null_arguments_are_refused_as_such()
    {
        Assert.Throws<ArgumentNullException>(() => ClusterKeyring.Of(null!));
        Assert.Throws<ArgumentNullException>(() => ClusterKeyring.Parse(null!));
        Assert.Throws<ArgumentNullException>(() => ClusterKeyring.Of([null!]));
    }

    // Kills in ClusterKeyring.cs: 99, 100 and 101 (each HKDF purpose '""'). Every node runs the same code, so a
    // changed purpose passes every test between two nodes and breaks only a cluster of mixed versions. The answers
    // are HKDF-SHA256 (RFC 5869, empty salt, 32 bytes) of 32 bytes of 0x01, computed by Python's hmac and hashlib:
    //   prk = hmac(b'\0'*32, ikm, sha256); okm = hmac(prk, info + b'\x01', sha256)
    [Fact]
    public void Keys_derive_as_the_protocol_says()
    {
        var key = ClusterKeyring.Of(Secret(1)).Primary;
        Assert.Equal(GossipKeyOfOnes, Convert.ToHexStringLower(key.GossipKey));
        Assert.Equal(TransferKeyOfOnes, Convert.ToHexStringLower(key.TransferKey));
        Assert.Equal(0x8d8c8935u, key.Id);
    }

    /// <summary>The transfer key HKDF gives for 32 bytes of 0x01 ("kepler transfer v1"), by Python.</summary>
    internal const string TransferKeyOfOnes = "280f157570b2b8767436908b8a388254f8a0301cac47621836b7874326a4cebc";

    /// <summary>The gossip key HKDF gives for 32 bytes of 0x01 ("kepler gossip v1"), by Python.</summary>
    internal const string GossipKeyOfOnes = "133ee07ff8ed6470a117868e2ee6e08901b4093cb6d8aa90328cb762be1ec72b";

    // Kills in AuthCounters.cs: 59 'Reasons.Max' (two drops of one kind for different reasons counted once) and 67
    // '(int)kind / Reasons.Length' (frames and datagrams shared their counters).
    [Fact]
    public void Each_kind_and_reason_counts_apart_and_a_kind_totals_its_reasons()
    {
        var counters = new AuthCounters();
        counters.Drop(AuthDropKind.Datagram, AuthDropReason.Forged);
        counters.Drop(AuthDropKind.Datagram, AuthDropReason.Replay);
        counters.Drop(AuthDropKind.Frame, AuthDropReason.Forged);
        Assert.Equal(2, counters.Dropped(AuthDropKind.Datagram));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Forged));
        Assert.Equal(0, counters.Dropped(AuthDropKind.Frame, AuthDropReason.Replay));
        Assert.Equal([("datagram", "forged", 1L), ("datagram", "replay", 1L), ("frame", "forged", 1L)],
            counters.All().Where(c => c.Count > 0));
    }
}
