using System.Threading.Channels;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Security;

namespace KeplerSim.Tests.Security;

/// <summary>
/// The cluster key's decorators over the network seam: what they accept, and every way an outsider's datagram or
/// frame is refused (and counted). docs/PROTOCOL.md, "Cluster key".
/// </summary>
[Trait("Category", "Fast")]
public sealed partial class ClusterKeyTests
{
    private static readonly byte[] KeyA = Enumerable.Repeat((byte)1, 32).ToArray();
    private static readonly byte[] KeyB = Enumerable.Repeat((byte)2, 32).ToArray();
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public void Parse_accepts_a_keyring_and_names_what_is_wrong_without_echoing_the_secret()
    {
        var a = Convert.ToBase64String(KeyA);
        var b = Convert.ToBase64String(KeyB);
        var ring = ClusterKeyring.Parse($"{a}, {b}");
        Assert.Equal(2, ring.Keys.Count);
        Assert.NotEqual(ring.Keys[0].Id, ring.Keys[1].Id);
        Assert.Contains("key 2 of 2 is not base64", Assert.Throws<FormatException>(() =>
            ClusterKeyring.Parse(a + ",not*base64")).Message);
        var shortKey = Convert.ToBase64String(new byte[16]);
        var error = Assert.Throws<FormatException>(() => ClusterKeyring.Parse(shortKey)).Message;
        Assert.Contains("16 bytes; a cluster key is 32 bytes", error);
        Assert.DoesNotContain(shortKey, error);
        Assert.Contains("empty", Assert.Throws<FormatException>(() => ClusterKeyring.Parse(a + ",")).Message);
    }

    [Fact]
    public void A_sealed_datagram_is_delivered_once_and_every_copy_or_alteration_is_dropped()
    {
        var (sender, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var (receiver, counters) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var got = new List<byte[]>();
        receiver.Network.SetReceiver((_, payload) => got.Add(payload.ToArray()));
        sender.Network.Send(receiver.Network.LocalAddress, "hello"u8);
        var wire = sender.Sent.Single();
        Assert.DoesNotContain("hello"u8.ToArray(), Windows(wire, 5)); // encrypted, not only signed

        receiver.Deliver(wire);
        receiver.Deliver(wire); // replayed
        Assert.Equal(["hello"u8.ToArray()], got);
        Assert.Equal(1, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Replay));

        var flipped = (byte[])wire.Clone();
        flipped[^20] ^= 1;
        receiver.Deliver(flipped);
        receiver.Deliver(wire[..^1]); // truncated
        receiver.Deliver(wire[..10]);
        receiver.Deliver("plain swim message"u8.ToArray());
        Assert.Single(got);
        Assert.Equal(2, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Forged));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Malformed));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Version));
    }

    [Fact]
    public void A_datagram_under_another_key_or_too_old_is_dropped_and_a_rotated_keyring_opens_both()
    {
        var (outsider, _) = Datagrams("x", ClusterKeyring.Of(KeyB));
        var (receiver, counters) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var got = 0;
        receiver.Network.SetReceiver((_, _) => got++);
        outsider.Network.Send(receiver.Network.LocalAddress, "join"u8);
        receiver.Deliver(outsider.Sent.Single());
        Assert.Equal(1, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.UnknownKey));

        var (old, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        old.Network.Send(receiver.Network.LocalAddress, "ping"u8);
        receiver.Clock.WallMicroseconds += ReplayGuard.AgeMaxMicroseconds + 1; // captured long ago
        receiver.Deliver(old.Sent.Single());
        Assert.Equal(1, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Stale));
        Assert.Equal(0, got);

        // Mid-rotation: a node with "B,A" seals with B; one with "A,B" opens it, and the other way round.
        var (rotated, _) = Datagrams("n3", ClusterKeyring.Of(KeyB, KeyA));
        var (installed, _) = Datagrams("n4", ClusterKeyring.Of(KeyA, KeyB));
        installed.Network.SetReceiver((_, _) => got++);
        rotated.Network.Send(installed.Network.LocalAddress, "ping"u8);
        installed.Deliver(rotated.Sent.Single());
        Assert.Equal(1, got);
    }

    [Fact]
    public void After_a_restart_the_old_incarnations_datagrams_are_replays_even_if_the_clock_stepped_back()
    {
        var (first, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var stamp = first.Network.Begin(long.MinValue);
        first.Network.Send(new NetAddress("n2", 4000), "a"u8);
        first.Network.Send(new NetAddress("n2", 4000), "b"u8);
        var (receiver, counters) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var got = new List<string>();
        receiver.Network.SetReceiver((_, p) => got.Add(System.Text.Encoding.ASCII.GetString(p.Span)));
        receiver.Deliver(first.Sent[0]);

        var (second, _) = Datagrams("n1", ClusterKeyring.Of(KeyA), wallMicroseconds: first.Clock.WallMicroseconds - 5);
        Assert.True(second.Network.Begin(stamp) > stamp); // the persisted stamp wins over a clock that went back
        second.Network.Send(new NetAddress("n2", 4000), "c"u8);
        receiver.Deliver(second.Sent[0]);
        receiver.Deliver(first.Sent[1]); // the previous incarnation's, delivered (or replayed) late
        Assert.Equal(["a", "c"], got);
        Assert.Equal(1, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Replay));
    }

    [Fact]
    public void The_window_accepts_reordered_datagrams_once()
    {
        var (sender, _) = Datagrams("n1", ClusterKeyring.Of(KeyA));
        var (receiver, counters) = Datagrams("n2", ClusterKeyring.Of(KeyA));
        var got = 0;
        receiver.Network.SetReceiver((_, _) => got++);
        for (var i = 0; i < 70; i++)
        {
            sender.Network.Send(receiver.Network.LocalAddress, [(byte)i]);
        }

        receiver.Deliver(sender.Sent[69]);
        receiver.Deliver(sender.Sent[10]); // 59 behind: inside the window
        receiver.Deliver(sender.Sent[10]);
        receiver.Deliver(sender.Sent[2]); // 67 behind: outside it
        Assert.Equal(2, got);
        Assert.Equal(2, counters.Dropped(AuthDropKind.Datagram, AuthDropReason.Replay));
    }

    [Fact]
    public async Task Sealed_connections_carry_frames_and_refuse_a_foreign_key()
    {
        var (client, server, serverCounters) = Streams(ClusterKeyring.Of(KeyA), ClusterKeyring.Of(KeyA));
        var (connection, accepted, first) = await OpenAsync(client, server);
        using (connection)
        {
            await connection.SendAsync("manifest please"u8.ToArray()).WaitAsync(Bound);
            Assert.Equal("manifest please"u8.ToArray(), (await first.WaitAsync(Bound))!.Value.ToArray());
            await accepted.SendAsync("here"u8.ToArray()).WaitAsync(Bound);
            Assert.Equal("here"u8.ToArray(), (await connection.ReceiveAsync().WaitAsync(Bound))!.Value.ToArray());
            Assert.DoesNotContain(client.Raw.Single().Written, f => f.AsSpan().IndexOf("manifest"u8) >= 0);
            Assert.Equal(0, serverCounters.Dropped(AuthDropKind.Frame));
        }

        var (outsider, target, counters) = Streams(ClusterKeyring.Of(KeyB), ClusterKeyring.Of(KeyA));
        var connect = outsider.Network.ConnectAsync(target.Address);
        var serve = target.Accepted.Single().ReceiveAsync();
        await Assert.ThrowsAsync<StreamBrokenException>(() => serve.WaitAsync(Bound));
        await Assert.ThrowsAsync<StreamBrokenException>(() => connect.WaitAsync(Bound));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame, AuthDropReason.UnknownKey));
    }

    [Theory]
    [InlineData("replay", 1)]
    [InlineData("reorder", 0)]
    [InlineData("truncate", 0)]
    [InlineData("forge", 0)]
    [InlineData("plain", 0)]
    public async Task A_replayed_reordered_truncated_forged_or_plain_frame_closes_the_connection(string attack,
        int accepted)
    {
        var (client, server, counters) = Streams(ClusterKeyring.Of(KeyA), ClusterKeyring.Of(KeyA));
        var (connection, serving, first) = await OpenAsync(client, server);
        using var _ = connection;
        await connection.SendAsync("one"u8.ToArray()).WaitAsync(Bound);
        Assert.NotNull(await first.WaitAsync(Bound));
        await connection.SendAsync("two"u8.ToArray()).WaitAsync(Bound);
        await connection.SendAsync("three"u8.ToArray()).WaitAsync(Bound);
        var wire = client.Raw.Single().Written; // hello, proof, one, two, three: as sealed on the wire
        var (one, two, three) = (wire[2], wire[3], wire[4]);
        byte[][] tampered = attack switch
        {
            "replay" => [two, one],
            "reorder" => [three, two],
            "truncate" => [two[..^1]],
            "forge" => [Flip(two)],
            _ => ["store chunk 0123456789abcdef"u8.ToArray()],
        };
        server.Raw.Single().Replace(tampered);
        var seen = 0;
        var broke = await Assert.ThrowsAsync<StreamBrokenException>(async () =>
        {
            while (await serving.ReceiveAsync().WaitAsync(Bound) is not null)
            {
                seen++;
            }
        });
        Assert.Contains("dropped by the cluster key", broke.Message);
        Assert.Equal(accepted, seen);
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame));
    }

    [Fact]
    public async Task A_captured_handshake_replayed_to_a_new_connection_is_refused()
    {
        var (client, server, counters) = Streams(ClusterKeyring.Of(KeyA), ClusterKeyring.Of(KeyA));
        var (connection, _, first) = await OpenAsync(client, server);
        using (connection)
        {
            await connection.SendAsync("tombstone"u8.ToArray()).WaitAsync(Bound);
            Assert.NotNull(await first.WaitAsync(Bound));
        }

        // The outsider replays the client's handshake (hello, proof) on a fresh connection: the server's new nonce
        // makes the old proof worthless, so the connection closes before any frame is read.
        var captured = client.Raw.Single().Written.Take(2).ToArray();
        var raw = new FakeConnection(new NetAddress("x", 5000));
        raw.Replace(captured);
        var fresh = server.Accept(raw);
        await Assert.ThrowsAsync<StreamBrokenException>(() => fresh.ReceiveAsync().WaitAsync(Bound));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame, AuthDropReason.Forged));
    }

    /// <summary>Connects; the server answers the handshake inside its first receive (returned pending).</summary>
    private static async Task<(IStreamConnection Client, IStreamConnection Server, Task<ReadOnlyMemory<byte>?> First)>
        OpenAsync(StreamEnd client, StreamEnd server)
    {
        var connect = client.Network.ConnectAsync(server.Address);
        var serving = server.Accepted.Single();
        var first = serving.ReceiveAsync();
        return (await connect.WaitAsync(Bound), serving, first);
    }

    private static byte[] Flip(byte[] frame)
    {
        var copy = (byte[])frame.Clone();
        copy[0] ^= 0x80;
        return copy;
    }

    private static IEnumerable<byte[]> Windows(byte[] bytes, int size) =>
        Enumerable.Range(0, Math.Max(0, bytes.Length - size + 1)).Select(i => bytes[i..(i + size)]);

    private static (DatagramEnd End, AuthCounters Counters) Datagrams(string id, ClusterKeyring keyring,
        long wallMicroseconds = 1_700_000_000_000_000)
    {
        var counters = new AuthCounters();
        var end = new DatagramEnd(id, keyring, counters, new TestClock { WallMicroseconds = wallMicroseconds });
        return (end, counters);
    }

    private static (StreamEnd Client, StreamEnd Server, AuthCounters ServerCounters) Streams(ClusterKeyring client,
        ClusterKeyring server)
    {
        var serverCounters = new AuthCounters();
        var serverEnd = new StreamEnd("server", server, serverCounters);
        var clientEnd = new StreamEnd("client", client, new AuthCounters()) { Peer = serverEnd };
        return (clientEnd, serverEnd, serverCounters);
    }

    internal sealed class TestClock : IClock
    {
        public long WallMicroseconds { get; set; }

        public long MonotonicMicroseconds { get; set; }

        public Task DelayAsync(long delayMicroseconds, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public IDisposable Schedule(long delayMicroseconds, Action callback) => throw new NotSupportedException();
    }

    /// <summary>A node's sealed datagram network over a plain one that records what it sends.</summary>
    private sealed class DatagramEnd : IDatagramNetwork
    {
        private Action<NetAddress, ReadOnlyMemory<byte>>? _receiver;

        public DatagramEnd(string id, ClusterKeyring keyring, AuthCounters counters, TestClock clock)
        {
            LocalAddress = new NetAddress(id, 4000);
            Clock = clock;
            Network = new SealedDatagramNetwork(this, keyring, new NodeId(id), clock,
                new DeterministicRandom(DeterministicRandom.Derive(7, id)), counters);
        }

        public SealedDatagramNetwork Network { get; }

        public TestClock Clock { get; }

        public List<byte[]> Sent { get; } = [];

        public NetAddress LocalAddress { get; }

        public int MaxDatagramBytes => 1400;

        public void Send(NetAddress target, ReadOnlySpan<byte> payload) => Sent.Add(payload.ToArray());

        public void SetReceiver(Action<NetAddress, ReadOnlyMemory<byte>> receiver) => _receiver = receiver;

        public void Deliver(byte[] wire) => _receiver!(new NetAddress("from", 4000), wire);
    }

    /// <summary>A node's sealed stream network over in-memory connections.</summary>
    private sealed class StreamEnd : IStreamNetwork
    {
        private Action<IStreamConnection>? _acceptor;

        public StreamEnd(string id, ClusterKeyring keyring, AuthCounters counters)
        {
            Address = new NetAddress(id, 5000);
            Counters = counters;
            Network = new SealedStreamNetwork(this, keyring, new DeterministicRandom(DeterministicRandom.Derive(9, id)),
                counters);
            Network.SetAcceptor(Accepted.Add);
        }

        public NetAddress Address { get; }

        public StreamEnd? Peer { get; init; }

        public AuthCounters Counters { get; }

        public SealedStreamNetwork Network { get; }

        public List<IStreamConnection> Accepted { get; } = [];

        public List<FakeConnection> Raw { get; } = [];

        public NetAddress LocalAddress => Address;

        public int MaxFrameBytes => 1 << 20;

        public Task<IStreamConnection> ConnectAsync(NetAddress target, CancellationToken cancellationToken = default)
        {
            var mine = new FakeConnection(target);
            var theirs = new FakeConnection(Address);
            mine.Other = theirs;
            theirs.Other = mine;
            Raw.Add(mine);
            Peer!.Accept(theirs);
            return Task.FromResult<IStreamConnection>(mine);
        }

        public void SetAcceptor(Action<IStreamConnection> acceptor) => _acceptor = acceptor;

        public IStreamConnection Accept(FakeConnection raw)
        {
            Raw.Add(raw);
            _acceptor!(raw);
            return Accepted[^1];
        }
    }

    /// <summary>One end of an in-memory connection; a test may replace what arrives (an attacker).</summary>
    internal sealed class FakeConnection(NetAddress remote) : IStreamConnection
    {
        private readonly Channel<byte[]> _inbox = Channel.CreateUnbounded<byte[]>();

        public FakeConnection? Other { get; set; }

        public List<byte[]> Written { get; } = [];

        public bool Disposed { get; private set; }

        public NetAddress Remote => remote;

        public Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
        {
            Written.Add(frame.ToArray());
            Other?._inbox.Writer.TryWrite(frame.ToArray());
            return Task.CompletedTask;
        }

        /// <summary>
        /// The next frame, or null once the connection is closed and drained. (The null is typed: a null byte[]
        /// converts to an empty, non-null memory, so the peer's close used to arrive as an empty frame.)
        /// </summary>
        public async Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default) =>
            await _inbox.Reader.WaitToReadAsync(cancellationToken) && _inbox.Reader.TryRead(out var frame)
                ? frame
                : (ReadOnlyMemory<byte>?)null;

        /// <summary>Drops what has not been received yet and delivers <paramref name="frames"/> instead.</summary>
        public void Replace(IEnumerable<byte[]> frames)
        {
            while (_inbox.Reader.TryRead(out _))
            {
            }

            foreach (var frame in frames)
            {
                _inbox.Writer.TryWrite(frame);
            }
        }

        public void Dispose()
        {
            Disposed = true;
            _inbox.Writer.TryComplete();
            Other?._inbox.Writer.TryComplete(); // the peer sees the connection end, as with TCP
        }
    }
}
