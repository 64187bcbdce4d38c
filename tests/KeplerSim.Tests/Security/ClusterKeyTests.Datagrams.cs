using System.Buffers.Binary;
using System.Reflection;
using System.Security.Cryptography;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Security;

namespace KeplerSim.Tests.Security;

/// <summary>Sealed datagrams at their limits: sizes, short and foreign wires, nonces, malformed contents.</summary>
public sealed partial class ClusterKeyTests
{
    // Kills in SealedDatagramNetwork.cs: the four arithmetic mutants of OverheadBytes (73) and 79
    // '_inner.MaxDatagramBytes + OverheadBytes' (each promised more payload than the inner network carries), 84
    // '>= MaxDatagramBytes' (a payload of exactly the maximum refused), 86 (the size check's throw dropped) and its
    // message.
    [Fact]
    public void A_datagram_of_the_advertised_maximum_fills_the_inner_limit_and_one_byte_more_is_refused()
    {
        var (sender, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var (receiver, _) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        Assert.Equal(1400 - 50 - 2, sender.Network.MaxDatagramBytes); // PROTOCOL.md: 50 bytes plus the node id
        var got = new List<byte[]>();
        receiver.Network.SetReceiver((_, p) => got.Add(p.ToArray()));
        var payload = Enumerable.Range(0, sender.Network.MaxDatagramBytes).Select(i => (byte)i).ToArray();
        sender.Network.Send(receiver.Network.LocalAddress, payload);
        Assert.Equal(1400, sender.Sent.Single().Length);
        receiver.Deliver(sender.Sent.Single());
        Assert.Equal([payload], got);
        var error = Assert.Throws<ArgumentException>(() =>
            sender.Network.Send(receiver.Network.LocalAddress, new byte[payload.Length + 1]));
        Assert.Contains("datagram of 1349 bytes exceeds 1348", error.Message);
    }

    // Kills in SealedDatagramNetwork.cs: on 140 '<=' (a wire of exactly the minimum length counted malformed
    // before its tag was checked) and 'HeaderBytes + StampBytes + 1 - TagBytes' and 'HeaderBytes - StampBytes'
    // (a wire of 18 to 32 bytes made a negative buffer: an OverflowException out of the receive handler, any
    // outsider's packet) and 'HeaderBytes + StampBytes - 1'; on 142 'wire.Length >= 0' (an empty datagram threw
    // IndexOutOfRange) and 'wire[0] == Version' (version and malformed swapped: the other tests sent one of each);
    // 146 (a long datagram of a foreign version went on to the key lookup).
    [Fact]
    public void Every_short_or_foreign_datagram_is_counted_and_none_throws()
    {
        var (sender, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var (receiver, counters) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var got = 0;
        receiver.Network.SetReceiver((_, _) => got++);
        sender.Network.Send(receiver.Network.LocalAddress, "x"u8);
        var header = sender.Sent.Single()[..SealedDatagramNetwork.HeaderBytes]; // version, our key id, a nonce
        const int shortest = SealedDatagramNetwork.HeaderBytes + 16 + 1 + SealedDatagramNetwork.TagBytes;
        for (var length = 0; length <= shortest; length++)
        {
            var wire = new byte[length];
            header.AsSpan(0, Math.Min(length, header.Length)).CopyTo(wire);
            receiver.Deliver(wire);
        }

        Assert.Equal(shortest, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Malformed));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Forged)); // the shortest, zero tag
        receiver.Deliver([0xC1, 0x01]); // a plain SWIM datagram, short
        receiver.Deliver([0xC1, .. new byte[80]]); // and long
        Assert.Equal(2, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Version));
        Assert.Equal(0, got);
    }

    // Kills in SealedDatagramNetwork.cs:102 (the prefix not written: every node's counter 1 had the same nonce
    // under the cluster's one gossip key, the AES-GCM nonce reuse that gives away the authentication key).
    [Fact]
    public void No_two_nodes_or_incarnations_seal_with_the_same_nonce()
    {
        var (n1, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var (n2, _) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var target = new NetAddress("n3", 4000);
        n1.Network.Send(target, "a"u8);
        n2.Network.Send(target, "a"u8);
        n1.Network.Begin(long.MinValue); // a restart
        n1.Network.Send(target, "a"u8);
        var nonces = n1.Sent.Concat(n2.Sent).Select(w => Convert.ToHexString(w, 5, 12)).ToList();
        Assert.Equal(3, nonces.Distinct().Count());
    }

    // Kills in SealedDatagramNetwork.cs:92 (no new incarnation when the counter runs out: the counter wrapped to 0
    // under the same prefix, so receivers refused everything after as replays and counter 1 would have sealed
    // with a nonce used before). Four billion sends are out of reach, so the counter is set just below the end.
    [Fact]
    public void When_the_counter_runs_out_a_new_incarnation_numbers_on()
    {
        var (sender, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var (receiver, counters) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var got = new List<string>();
        receiver.Network.SetReceiver((_, p) => got.Add(System.Text.Encoding.ASCII.GetString(p.Span)));
        typeof(SealedDatagramNetwork).GetField("_counter", BindingFlags.NonPublic | BindingFlags.Instance)!
            .SetValue(sender.Network, uint.MaxValue - 1);
        sender.Network.Send(receiver.Network.LocalAddress, "last"u8);
        sender.Network.Send(receiver.Network.LocalAddress, "next"u8);
        var (last, next) = (sender.Sent[0], sender.Sent[1]);
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32BigEndian(last.AsSpan(13)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(next.AsSpan(13)));
        Assert.NotEqual(Convert.ToHexString(last, 5, 8), Convert.ToHexString(next, 5, 8)); // a new prefix
        receiver.Deliver(last);
        receiver.Deliver(next);
        Assert.Equal(["last", "next"], got);
        Assert.Equal(0, counters.Dropped(AuthDropKind.Datagram));
    }

    // Kills in SealedDatagramNetwork.cs:108 (the sender id not copied: every node sealed as the same zero-byte
    // sender, so two nodes shared one replay window and one's datagrams were refused as the other's replays).
    [Fact]
    public void Each_sender_has_its_own_window()
    {
        var (n1, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var (n2, _) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var (receiver, counters) = Datagrams("n3", ClusterKeyring.Of(KeyA));
        var got = 0;
        receiver.Network.SetReceiver((_, _) => got++);
        foreach (var end in new[] { n1, n2, n1, n2 })
        {
            end.Network.Send(receiver.Network.LocalAddress, "ping"u8);
            receiver.Deliver(end.Sent[^1]);
        }

        Assert.Equal(4, got);
        Assert.Equal(0, counters.Dropped(AuthDropKind.Datagram));
    }

    // Kills in SealedDatagramNetwork.cs:69 (no incarnation at construction: a sender that never called Begin
    // numbered as (0, 0), so its restart looked like the same incarnation and was refused as replays).
    [Fact]
    public void A_sender_that_never_called_Begin_takes_its_incarnation_from_its_clock()
    {
        var (first, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var (second, _) = Datagrams("n1", ClusterKeyring.Of(KeyA), wallMicroseconds: first.Clock.WallMicroseconds + 1);
        var (receiver, _) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var got = 0;
        receiver.Network.SetReceiver((_, _) => got++);
        first.Network.Send(receiver.Network.LocalAddress, "a"u8);
        second.Network.Send(receiver.Network.LocalAddress, "b"u8);
        receiver.Deliver(first.Sent.Single());
        receiver.Deliver(second.Sent.Single());
        Assert.Equal(2, got);
    }

    // Kills in SealedDatagramNetwork.cs: 157 '<=' (an empty payload dropped as malformed); on 157
    // 'StampBytes + 1 - idBytes' and 'StampBytes - 1', and 158 (the block removed), a sealed datagram whose sender
    // id runs past its end (only a key holder can make one: a buggy peer) threw ArgumentOutOfRange out of the
    // receive handler.
    [Fact]
    public void An_authentic_datagram_is_parsed_to_its_bounds()
    {
        var (sender, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var (receiver, counters) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var got = new List<byte[]>();
        receiver.Network.SetReceiver((_, p) => got.Add(p.ToArray()));
        sender.Network.Send(receiver.Network.LocalAddress, []);
        receiver.Deliver(sender.Sent.Single());
        Assert.Equal([Array.Empty<byte>()], got);

        var wall = receiver.Clock.WallMicroseconds;
        receiver.Deliver(SealByHand(wall, idLength: 4, "abcd"u8, counter: 1)); // the sealing below is right
        receiver.Deliver(SealByHand(wall, idLength: 5, "abcd"u8, counter: 2)); // id said 5 bytes, 4 follow
        receiver.Deliver(SealByHand(wall, idLength: 200, "abcd"u8, counter: 3));
        Assert.Equal(2, got.Count);
        Assert.Equal(2, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Malformed));
    }

    // Kills in SealedDatagramNetwork.cs: 59 '_senderId.Length >= SenderIdBytesMax' (an id of 255 bytes refused)
    // and 61 (the throw dropped: a 256-byte id's length byte wrapped to 0) and its message; 48 to 52 and 118 (each
    // argument check dropped); in SealedStreamNetwork.cs 20 to 23 and 54 likewise.
    [Fact]
    public void Construction_checks_its_arguments()
    {
        var ring = ClusterKeyring.Of(KeyA);
        var clock = new TestClock();
        var random = new DeterministicRandom(1);
        var counters = new AuthCounters();
        var (inner, _) = Datagrams("n1", ring);
        _ = new SealedDatagramNetwork(inner, ring, new NodeId(new string('x', 255)), clock, random, counters);
        Assert.Contains("node id longer than 255 bytes", Assert.Throws<ArgumentException>(() =>
            new SealedDatagramNetwork(inner, ring, new NodeId(new string('x', 256)), clock, random, counters)).Message);
        var id = new NodeId("n1");
        Assert.Throws<ArgumentNullException>(() =>
            new SealedDatagramNetwork(null!, ring, id, clock, random, counters));
        Assert.Throws<ArgumentNullException>(() =>
            new SealedDatagramNetwork(inner, null!, id, clock, random, counters));
        Assert.Throws<ArgumentNullException>(() =>
            new SealedDatagramNetwork(inner, ring, id, null!, random, counters));
        Assert.Throws<ArgumentNullException>(() =>
            new SealedDatagramNetwork(inner, ring, id, clock, null!, counters));
        Assert.Throws<ArgumentNullException>(() =>
            new SealedDatagramNetwork(inner, ring, id, clock, random, null!));
        Assert.Throws<ArgumentNullException>(() => inner.Network.SetReceiver(null!));

        var streams = new StreamEnd("s", ring, counters);
        Assert.Throws<ArgumentNullException>(() => new SealedStreamNetwork(null!, ring, random, counters));
        Assert.Throws<ArgumentNullException>(() => new SealedStreamNetwork(streams, null!, random, counters));
        Assert.Throws<ArgumentNullException>(() => new SealedStreamNetwork(streams, ring, null!, counters));
        Assert.Throws<ArgumentNullException>(() => new SealedStreamNetwork(streams, ring, random, null!));
        Assert.Throws<ArgumentNullException>(() => streams.Network.SetAcceptor(null!));
    }

    /// <summary>
    /// A datagram sealed under KeyA by hand, as PROTOCOL.md lays it out, with the sender id length byte given
    /// separately from the id bytes that follow it (and no payload).
    /// </summary>
    private static byte[] SealByHand(long wall, byte idLength, ReadOnlySpan<byte> id, uint counter)
    {
        var key = ClusterKeyring.Of(KeyA).Primary;
        var plain = new byte[16 + 1 + id.Length];
        BinaryPrimitives.WriteInt64BigEndian(plain, wall); // boot stamp
        BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(8), wall); // sent at
        plain[16] = idLength;
        id.CopyTo(plain.AsSpan(17));
        var header = SealedDatagramNetwork.HeaderBytes;
        var wire = new byte[header + plain.Length + SealedDatagramNetwork.TagBytes];
        wire[0] = SealedDatagramNetwork.Version;
        BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(1), key.Id);
        BinaryPrimitives.WriteUInt64BigEndian(wire.AsSpan(5), 42); // prefix
        BinaryPrimitives.WriteUInt32BigEndian(wire.AsSpan(13), counter);
        using var aes = new AesGcm(key.GossipKey, SealedDatagramNetwork.TagBytes);
        aes.Encrypt(wire.AsSpan(5, 12), plain, wire.AsSpan(header, plain.Length), wire.AsSpan(header + plain.Length),
            wire.AsSpan(0, header));
        return wire;
    }
}
