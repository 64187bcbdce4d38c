using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Security;

namespace KeplerSim.Tests.Security;

/// <summary>
/// Sealed connections against a server or client that is not what it claims (the test plays it on the raw
/// connection), at their limits, and closed while a handshake is under way.
/// </summary>
public sealed partial class ClusterKeyTests
{
    // Kills in SealedStreamConnection.cs:153 (the client did not check the server's proof: it took anyone who echoed
    // its key id for a key holder, and the connection opened).
    [Fact]
    public async Task A_client_refuses_a_server_that_cannot_prove_the_key()
    {
        var (client, server, counters) = ClientAndServer();
        var connect = client.Network.ConnectAsync(server.Address);
        var (wire, hello) = await HelloAsync(server);
        byte[] reply = [.. hello[..5], .. new byte[16], .. new byte[16]]; // a nonce, a made-up proof
        await wire.SendAsync(reply);
        await Assert.ThrowsAsync<StreamBrokenException>(() => connect.WaitAsync(Bound));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame, AuthDropReason.Forged));
    }

    // Kills in SealedStreamConnection.cs:130 (the client's nonce not drawn: every hello was the same, so a server's
    // reply recorded once opened any later connection, and the recorded server's frames with it).
    [Fact]
    public async Task A_recorded_server_reply_is_refused_by_a_new_connection()
    {
        var (client, server, counters) = ClientAndServer();
        var (connection, _, _) = await OpenAsync(client, server);
        connection.Dispose();
        var recorded = server.Raw.Single().Written[0];

        var connect = client.Network.ConnectAsync(server.Address);
        var (wire, _) = await HelloAsync(server);
        await wire.SendAsync(recorded);
        await Assert.ThrowsAsync<StreamBrokenException>(() => connect.WaitAsync(Bound));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame, AuthDropReason.Forged));
    }

    // Kills in SealedStreamConnection.cs: on 141 'true ?', 'false ?' and 'reply.Length < 0' (the reason of a bad
    // reply), 'reply[0] == Version' (reasons swapped), and 147 (a reply under another key id went on to the proof
    // and counted forged).
    [Theory]
    [InlineData("plain", AuthDropReason.Version)]
    [InlineData("short", AuthDropReason.Malformed)]
    [InlineData("empty", AuthDropReason.Malformed)]
    [InlineData("other key", AuthDropReason.UnknownKey)]
    public async Task A_bad_reply_is_counted_by_what_is_wrong(string reply, AuthDropReason reason)
    {
        var (client, server, counters) = ClientAndServer();
        var connect = client.Network.ConnectAsync(server.Address);
        var (wire, hello) = await HelloAsync(server);
        var otherKey = (byte[])hello.Clone();
        otherKey[4] ^= 1;
        byte[] frame = reply switch
        {
            "plain" => [0x92, .. new byte[36]], // a keyless node's transfer frame
            "short" => [SealedDatagramNetwork.Version, 1, 2],
            "empty" => [],
            _ => [.. otherKey[..5], .. new byte[32]],
        };
        await wire.SendAsync(frame);
        await Assert.ThrowsAsync<StreamBrokenException>(() => connect.WaitAsync(Bound));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame, reason));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame));
    }

    // Kills in SealedStreamConnection.cs: 166 '&&' (a hello of the wrong length but the right version went on: a
    // short one threw ArgumentOutOfRange, not a broken stream, uncounted; one of the right length and a foreign
    // version was looked up as a key id); on 168 the throw dropped, 'true ?', 'false ?', '||', '< 0', '>= 0'
    // (an empty hello threw IndexOutOfRange) and '==' (the reason of a bad hello).
    [Theory]
    [InlineData("plain", AuthDropReason.Version)]
    [InlineData("plain, hello's length", AuthDropReason.Version)]
    [InlineData("short", AuthDropReason.Malformed)]
    [InlineData("long", AuthDropReason.Malformed)]
    [InlineData("empty", AuthDropReason.Malformed)]
    public async Task A_bad_hello_is_counted_by_what_is_wrong(string hello, AuthDropReason reason)
    {
        var (_, server, counters) = Streams(ClusterKeyring.Of(KeyA), ClusterKeyring.Of(KeyA));
        var raw = new FakeConnection(new NetAddress("x", 5000));
        byte[] frame = hello switch
        {
            "plain" => [0x92, 0x01],
            "plain, hello's length" => [0x92, .. new byte[20]],
            "short" => [SealedDatagramNetwork.Version, 1, 2],
            "long" => [SealedDatagramNetwork.Version, .. new byte[30]],
            _ => [],
        };
        raw.Replace([frame]);
        var serving = server.Accept(raw);
        await Assert.ThrowsAsync<StreamBrokenException>(() => serving.ReceiveAsync().WaitAsync(Bound));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame, reason));
        Assert.Equal(1, counters.Dropped(AuthDropKind.Frame));
    }

    // Kills in SealedStreamConnection.cs: on 50 '_sendCipher is not null' (a server that sends before it receives
    // used a cipher it had not derived: NullReferenceException) and 'await HandshakeAsync' un-negated (it threw
    // "closed during the handshake" after a good one).
    [Fact]
    public async Task A_server_may_speak_first_and_the_handshake_runs_for_its_send()
    {
        var (client, server, _) = ClientAndServer();
        var connect = client.Network.ConnectAsync(server.Address);
        var serving = server.Accepted.Single();
        await serving.SendAsync("welcome"u8.ToArray()).WaitAsync(Bound);
        using var connection = await connect.WaitAsync(Bound);
        Assert.Equal("welcome"u8.ToArray(), (await connection.ReceiveAsync().WaitAsync(Bound))!.Value.ToArray());
    }

    // Kills in SealedStreamConnection.cs: 52 (the throw dropped: a send on a connection whose peer left before its
    // hello used a cipher never derived, NullReferenceException) and its message, and 162 'true' (that handshake
    // reported done).
    [Fact]
    public async Task A_send_on_a_connection_whose_peer_left_before_its_hello_breaks()
    {
        var (_, server, counters) = Streams(ClusterKeyring.Of(KeyA), ClusterKeyring.Of(KeyA));
        var raw = new FakeConnection(new NetAddress("x", 5000));
        raw.Dispose(); // the peer connected and closed without a word
        var serving = server.Accept(raw);
        var broke = await Assert.ThrowsAsync<StreamBrokenException>(() =>
            serving.SendAsync("late"u8.ToArray()).WaitAsync(Bound));
        Assert.Contains("closed during the cluster key handshake", broke.Message);
        Assert.Null(await serving.ReceiveAsync().WaitAsync(Bound));
        Assert.Empty(raw.Written);
        Assert.Equal(0, counters.Dropped(AuthDropKind.Frame));
    }

    // Kills in SealedStreamConnection.cs: 55 and 84 (no closed check before a send or after a receive: the disposed
    // cipher threw ObjectDisposedException, not a broken stream), 118 'false' (never marked closed), 203 (the
    // closed check's throw dropped) and its message.
    [Fact]
    public async Task A_closed_connection_sends_and_receives_nothing_more()
    {
        var (client, server, counters) = ClientAndServer();
        var (connection, serving, first) = await OpenAsync(client, server);
        await connection.SendAsync("one"u8.ToArray()).WaitAsync(Bound);
        Assert.NotNull(await first.WaitAsync(Bound));
        await connection.SendAsync("two"u8.ToArray()).WaitAsync(Bound); // in flight when the server closes
        serving.Dispose();
        var broke = await Assert.ThrowsAsync<StreamBrokenException>(() => serving.ReceiveAsync().WaitAsync(Bound));
        Assert.EndsWith(": closed", broke.Message, StringComparison.Ordinal);
        connection.Dispose();
        broke = await Assert.ThrowsAsync<StreamBrokenException>(() =>
            connection.SendAsync("three"u8.ToArray()).WaitAsync(Bound));
        Assert.EndsWith(": closed", broke.Message, StringComparison.Ordinal);
        Assert.Equal(0, counters.Dropped(AuthDropKind.Frame));
    }

    // Kills in SealedStreamConnection.cs: 212 and 213 (a nonce left out of the salt), 214, 215 and 222 (a direction's
    // HKDF purpose '""'); in ClusterKeyring.cs 100 too. Both sides run the same code, so each passed every test
    // between two connections and broke only a cluster of mixed versions: here the test derives the direction keys
    // as PROTOCOL.md says, from the transfer key Python computed, and opens the frames on the wire with them.
    [Fact]
    public async Task Frames_are_sealed_under_the_direction_keys_the_protocol_derives()
    {
        var (client, server, _) = ClientAndServer();
        var (connection, serving, first) = await OpenAsync(client, server);
        using var _ = connection;
        await connection.SendAsync("to server"u8.ToArray()).WaitAsync(Bound);
        Assert.NotNull(await first.WaitAsync(Bound));
        await serving.SendAsync("to client"u8.ToArray()).WaitAsync(Bound);
        Assert.NotNull(await connection.ReceiveAsync().WaitAsync(Bound));

        var (fromClient, fromServer) = (client.Raw.Single().Written, server.Raw.Single().Written);
        var salt = fromClient[0][5..21].Concat(fromServer[0][5..21]).ToArray(); // Nc ‖ Ns
        Assert.Equal("to server", OpenFrame(salt, "client to server", fromClient[2]));
        Assert.Equal("to client", OpenFrame(salt, "server to client", fromServer[1]));
    }

    // Kills in SealedStreamConnection.cs:85 'frame.Length <= TagBytes' (an empty frame, a tag alone, counted
    // malformed and the connection closed).
    [Fact]
    public async Task An_empty_frame_arrives_empty()
    {
        var (client, server, counters) = ClientAndServer();
        var (connection, _, first) = await OpenAsync(client, server);
        using var _ = connection;
        await connection.SendAsync(Array.Empty<byte>()).WaitAsync(Bound);
        Assert.Equal(0, (await first.WaitAsync(Bound))!.Value.Length);
        Assert.Equal(0, server.Counters.Dropped(AuthDropKind.Frame));
        Assert.Equal(0, counters.Dropped(AuthDropKind.Frame));
    }

    // Kills in SealedStreamNetwork.cs:32 '_inner.MaxFrameBytes + TagBytes' (a frame of the advertised maximum did
    // not fit the inner network's).
    [Fact]
    public async Task A_frame_of_the_advertised_maximum_fills_the_inner_limit()
    {
        var (client, server, _) = ClientAndServer();
        Assert.Equal(client.MaxFrameBytes - SealedStreamConnection.TagBytes, client.Network.MaxFrameBytes);
        var (connection, _, first) = await OpenAsync(client, server);
        using var _ = connection;
        await connection.SendAsync(new byte[client.Network.MaxFrameBytes]).WaitAsync(Bound);
        Assert.Equal(client.MaxFrameBytes, client.Raw.Single().Written[^1].Length);
        Assert.Equal(client.Network.MaxFrameBytes, (await first.WaitAsync(Bound))!.Value.Length);
    }

    // Kills in SealedStreamNetwork.cs:46 (a connection whose handshake failed was not disposed: the raw connection,
    // a TCP socket on the real node, stayed open).
    [Fact]
    public async Task A_connection_whose_handshake_fails_is_closed()
    {
        var (client, server, _) = ClientAndServer();
        var connect = client.Network.ConnectAsync(server.Address);
        var (wire, _) = await HelloAsync(server);
        wire.Dispose(); // the server hangs up without a reply
        await Assert.ThrowsAsync<StreamBrokenException>(() => connect.WaitAsync(Bound));
        Assert.True(client.Raw.Single().Disposed);
    }

    // Kills in SealedStreamConnection.cs:185 (no closed check after the confirm arrived: a connection closed while
    // its handshake waited, as TransferServer.Close does, went on with a disposed cipher and threw
    // ObjectDisposedException instead of a broken stream).
    [Fact]
    public Task A_server_connection_closed_while_waiting_for_the_proof_breaks() => Task.Run(async () =>
    {
        var (raw, serving, _) = ScriptedServer();
        var receive = serving.ReceiveAsync();
        raw.Arrive(Hello());
        Assert.Single(raw.Written); // the reply; now it waits for the client's proof
        serving.Dispose();
        raw.Arrive(new byte[SealedStreamConnection.TagBytes]);
        var broke = await Assert.ThrowsAsync<StreamBrokenException>(() => receive.WaitAsync(Bound));
        Assert.EndsWith(": closed", broke.Message, StringComparison.Ordinal);
    });

    // Kills in SealedStreamConnection.cs:210 (no closed check before the keys are derived: a connection closed while
    // it waited for the hello still answered it on the closed stream).
    [Fact]
    public Task A_server_connection_closed_while_waiting_for_the_hello_answers_nothing() => Task.Run(async () =>
    {
        var (raw, serving, _) = ScriptedServer();
        var receive = serving.ReceiveAsync();
        serving.Dispose();
        raw.Arrive(Hello());
        Assert.Empty(raw.Written);
        var broke = await Assert.ThrowsAsync<StreamBrokenException>(() => receive.WaitAsync(Bound));
        Assert.EndsWith(": closed", broke.Message, StringComparison.Ordinal);
    });

    // Kills in SealedStreamConnection.cs:46 '_handshake = ...' (not '??='): a send waiting on a server handshake
    // not yet done started a second one, which took the client's proof for a hello, counted it malformed and
    // closed the connection.
    [Fact]
    public Task A_send_and_a_receive_waiting_on_the_handshake_share_it() => Task.Run(async () =>
    {
        var (raw, serving, counters) = ScriptedServer();
        var receive = serving.ReceiveAsync(); // the handshake waits for the hello
        var send = serving.SendAsync("early"u8.ToArray()); // and the send waits for the handshake
        var clientRaw = new ScriptedConnection();
        var client = new SealedStreamConnection(clientRaw,
            new SealedStreamSettings(ClusterKeyring.Of(KeyA), new DeterministicRandom(4), new AuthCounters()),
            client: true);
        var connect = client.HandshakeAsync(CancellationToken.None); // sends its hello, waits for the reply
        raw.Arrive(clientRaw.Written[0]);
        clientRaw.Arrive(raw.Written[0]); // the reply: the client checks it and sends its proof
        Assert.True(await connect.WaitAsync(Bound));
        raw.Arrive(clientRaw.Written[1]);
        await send.WaitAsync(Bound);
        Assert.Equal(2, raw.Written.Count); // the reply and the frame
        var arriving = client.ReceiveAsync();
        clientRaw.Arrive(raw.Written[1]);
        Assert.Equal("early"u8.ToArray(), (await arriving.WaitAsync(Bound))!.Value.ToArray());
        Assert.False(receive.IsCompleted); // waits for the client's first frame
        Assert.Equal(0, counters.Dropped(AuthDropKind.Frame));
    });

    private static (StreamEnd Client, StreamEnd Server, AuthCounters ClientCounters) ClientAndServer()
    {
        var server = new StreamEnd("server", ClusterKeyring.Of(KeyA), new AuthCounters());
        var counters = new AuthCounters();
        return (new StreamEnd("client", ClusterKeyring.Of(KeyA), counters) { Peer = server }, server, counters);
    }

    /// <summary>The raw server end of the connection the client just opened, and the hello read from it.</summary>
    private static async Task<(FakeConnection Wire, byte[] Hello)> HelloAsync(StreamEnd server)
    {
        var wire = server.Raw[^1];
        return (wire, (await wire.ReceiveAsync().WaitAsync(Bound))!.Value.ToArray());
    }

    /// <summary>A client's hello under KeyA (version, key id, a nonce).</summary>
    private static byte[] Hello()
    {
        var hello = new byte[1 + 4 + 16];
        hello[0] = SealedDatagramNetwork.Version;
        BinaryPrimitives.WriteUInt32BigEndian(hello.AsSpan(1), ClusterKeyring.Of(KeyA).Primary.Id);
        return hello;
    }

    /// <summary>A server connection under KeyA over a raw one whose arrivals the test hands out one by one.</summary>
    private static (ScriptedConnection Raw, IStreamConnection Serving, AuthCounters Counters) ScriptedServer()
    {
        var raw = new ScriptedConnection();
        var counters = new AuthCounters();
        var settings = new SealedStreamSettings(ClusterKeyring.Of(KeyA), new DeterministicRandom(3), counters);
        return (raw, new SealedStreamConnection(raw, settings, client: false), counters);
    }

    private static string OpenFrame(byte[] salt, string direction, byte[] frame)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Convert.FromHexString(KeyringTests.TransferKeyOfOnes), 32,
            salt, Encoding.ASCII.GetBytes("kepler transfer " + direction));
        var nonce = new byte[12];
        nonce[^1] = 1; // the direction's first frame
        var plain = new byte[frame.Length - 16];
        using var aes = new AesGcm(key, 16);
        aes.Decrypt(nonce, frame[..^16], frame[^16..], plain);
        return Encoding.ASCII.GetString(plain);
    }

    /// <summary>
    /// A raw connection whose receives wait until the test hands a frame out (<see cref="Arrive"/>), which runs the
    /// waiting receiver's continuation at once (the tests that use it run off xUnit's synchronization context).
    /// Closing it ends nothing by itself, as a frame already in flight on a real socket still arrives.
    /// </summary>
    private sealed class ScriptedConnection : IStreamConnection
    {
        private readonly Queue<TaskCompletionSource<ReadOnlyMemory<byte>?>> _waiting = new();

        public List<byte[]> Written { get; } = [];

        public NetAddress Remote { get; } = new("peer", 5000);

        public Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default)
        {
            Written.Add(frame.ToArray());
            return Task.CompletedTask;
        }

        public Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default)
        {
            var receive = new TaskCompletionSource<ReadOnlyMemory<byte>?>();
            _waiting.Enqueue(receive);
            return receive.Task;
        }

        public void Arrive(byte[] frame) => _waiting.Dequeue().SetResult(frame);

        public void Dispose()
        {
        }
    }
}
