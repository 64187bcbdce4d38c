using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Tests.Sim;

/// <summary>
/// The simulated stream connection behaves as the real one (node/KeplerSim.Node/Runtime/TcpStreamConnection.cs) where
/// the protocol can tell: closing an end ends its own reads, as closing a socket does; a paused node's host accepts
/// connects; an accepted end names the port its peer connected from (tests/KeplerSim.Node.Tests/SeamTests.cs pins
/// the real side); a partition silences a connection rather than resetting it; a closed end answers data with a reset;
/// a sender blocks while its peer leaves the buffers full.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SimStreamTests
{
    [Fact]
    public void Closing_an_end_fails_its_pending_receive_and_every_later_one()
    {
        // The simulated end's dispose told only its peer: a receive pending on the closed end waited on, and the
        // peer's next frame completed it. A real socket's close fails the pending read (TransferServer's eviction
        // counts on that: the evicted connection's serving task ends at once and never reads another request).
        var (sim, client, server) = TwoNodes(seed: 1);
        var accepted = Accept(sim, server);
        var connection = sim.Await(client.Spawn(r => r.Streams.ConnectAsync(server.TransferAddress)), "the connect");
        var end = accepted();
        var pending = server.Spawn(_ => end.ReceiveAsync());
        sim.RunFor(SimHarness.Second);
        Assert.False(pending.IsCompleted, "nothing was sent: the receive waits");

        sim.Await(server.Spawn(_ =>
        {
            end.Dispose();
            return Task.CompletedTask;
        }), "the close");
        sim.RunFor(SimHarness.Second);
        Assert.True(pending.IsFaulted, "the receive pending on the closed end failed");
        Assert.IsType<StreamBrokenException>(pending.Exception!.InnerException);

        // The peer, not yet told or not listening, sends: nothing is read on the closed end.
        sim.Await(client.Spawn(_ => connection.SendAsync(new byte[] { 1 })), "the peer's send");
        sim.RunFor(SimHarness.Second);
        var later = server.Spawn(_ => end.ReceiveAsync());
        sim.RunFor(SimHarness.Second);
        Assert.True(later.IsFaulted, "a receive on the closed end fails at once");
        Assert.IsType<StreamBrokenException>(later.Exception!.InnerException);
        Assert.Null(sim.Await(client.Spawn(_ => connection.ReceiveAsync()), "the peer to see the close"));
    }

    [Fact]
    public void A_frame_that_arrived_as_its_end_was_closed_is_still_read()
    {
        // The close takes effect on the end's reads once the closing event is done, as a socket's close takes effect
        // after the call returns: a frame that arrived in the same instant, ahead of it, is read. TransferServer
        // meets exactly that when a connection at a cap evicts one whose request has just arrived.
        var (sim, client, server) = TwoNodes(seed: 2);
        var accepted = Accept(sim, server);
        var opened = new List<long>();
        sim.Trace.Recorded += r => opened.AddRange(r.Kind == TraceKind.StreamOpened ? [r.A] : []);
        sim.Await(client.Spawn(r => r.Streams.ConnectAsync(server.TransferAddress)), "the connect");
        var end = accepted();
        var connectionId = Assert.Single(opened);
        var pending = server.Spawn(_ => end.ReceiveAsync());
        sim.Schedule(0, () =>
        {
            Assert.True(sim.Network.InjectFrame(connectionId, server, [7]), "the connection is open");
            sim.RunOn(server, end.Dispose); // Ahead of the frame's delivery (enqueued just before it).
        });
        sim.RunFor(SimHarness.Second);
        Assert.Equal([7], sim.Await(pending, "the frame that arrived first")!.Value.ToArray());
    }

    [Fact]
    public void A_paused_node_accepts_a_connect_and_serves_it_when_it_resumes()
    {
        // A paused process's kernel completes the TCP handshake: the connection waits in the listen backlog and its
        // frames in the socket buffer until the process runs again. The simulated connect to a paused node timed
        // out after the connect timeout with StreamBrokenException, as if the host were gone.
        var (sim, client, server) = TwoNodes(seed: 3);
        var accepted = new List<IStreamConnection>();
        sim.Await(server.Spawn(r =>
        {
            r.Streams.SetAcceptor(accepted.Add);
            return Task.CompletedTask;
        }), "the acceptor");
        server.Pause();
        var connect = client.Spawn(r => r.Streams.ConnectAsync(server.TransferAddress));
        sim.RunFor(SimHarness.Second / 10); // A tenth of the connect timeout: a few round trips.
        Assert.True(connect.IsCompletedSuccessfully, "the paused node's host completed the handshake");
        var connection = sim.Await(connect, "the connect");
        sim.Await(client.Spawn(_ => connection.SendAsync(new byte[] { 5 })), "a send into the socket buffer");
        sim.RunFor(SimHarness.Second);
        Assert.Empty(accepted); // Nothing runs on the paused node.

        server.Resume();
        sim.RunFor(SimHarness.Second / 10);
        var end = Assert.Single(accepted);
        Assert.Equal([5], sim.Await(server.Spawn(_ => end.ReceiveAsync()), "the buffered frame")!.Value.ToArray());
    }

    [Fact]
    public void An_accepted_end_names_its_peers_host_and_a_port_nothing_listens_on()
    {
        // A real accepted socket's remote end point is the peer's host and the ephemeral port it connected from
        // (TcpStreamNetwork); the simulated accepted end named the peer's transfer address, so code that dialled an
        // accepted connection's Remote back would pass here and reach nobody on a real node. A connect to a port
        // nothing listens on is refused at once (a reset), not timed out.
        var (sim, client, server) = TwoNodes(seed: 4);
        var accepted = Accept(sim, server);
        sim.Await(client.Spawn(r => r.Streams.ConnectAsync(server.TransferAddress)), "the connect");
        var remote = accepted().Remote;
        Assert.Equal(client.TransferAddress.Host, remote.Host);
        Assert.NotEqual(client.TransferAddress.Port, remote.Port);
        sim.Await(client.Spawn(r =>
        {
            r.Streams.SetAcceptor(_ => { });
            return Task.CompletedTask;
        }), "the peer listens too");

        var start = sim.Now;
        var dialBack = server.Spawn(r => r.Streams.ConnectAsync(remote));
        sim.RunFor(SimHarness.Second / 10); // Under the connect timeout.
        Assert.True(dialBack.IsFaulted, "the dial-back was refused within " + (sim.Now - start) + " us");
        Assert.IsType<StreamBrokenException>(dialBack.Exception!.InnerException);
    }

    [Fact]
    public void A_partition_silences_a_connection_and_the_heal_delivers_what_was_sent_across_it()
    {
        // Real TCP across a partition tells neither end: a send goes into the socket buffer, a receive waits, and
        // core's own timeouts decide; after the heal the retransmitted frames arrive in order. The simulator reset
        // every connection across the cut at once (a pending receive failed, a send failed), so the protocol's
        // timeout paths for a silent peer never ran under a partition, and a connection never outlived one.
        var (sim, client, server) = TwoNodes(seed: 5);
        var accepted = Accept(sim, server);
        var connection = sim.Await(client.Spawn(r => r.Streams.ConnectAsync(server.TransferAddress)), "the connect");
        var end = accepted();
        var pending = server.Spawn(_ => end.ReceiveAsync());
        sim.Network.Partition([client], [server]);
        sim.Await(client.Spawn(_ => connection.SendAsync(new byte[] { 1 })), "a send into the socket buffer");
        sim.Await(client.Spawn(_ => connection.SendAsync(new byte[] { 2 })), "another");
        sim.RunFor(30 * SimHarness.Second);
        Assert.False(pending.IsCompleted, "nothing arrives across the cut, and nothing breaks");

        sim.Network.Heal();
        Assert.Equal([1], sim.Await(pending, "the first frame after the heal")!.Value.ToArray());
        Assert.Equal([2], sim.Await(server.Spawn(_ => end.ReceiveAsync()), "the second")!.Value.ToArray());
        sim.Await(server.Spawn(_ => end.SendAsync(new byte[] { 3 })), "a reply");
        Assert.Equal([3], sim.Await(client.Spawn(_ => connection.ReceiveAsync()), "the reply")!.Value.ToArray());

        // A close across a cut is held too, behind the frames sent before it.
        sim.Network.Partition([client], [server]);
        sim.Await(client.Spawn(_ => connection.SendAsync(new byte[] { 4 })), "a last frame");
        sim.Await(client.Spawn(_ =>
        {
            connection.Dispose();
            return Task.CompletedTask;
        }), "the close");
        var last = server.Spawn(_ => end.ReceiveAsync());
        sim.RunFor(30 * SimHarness.Second);
        Assert.False(last.IsCompleted, "the close is not seen across the cut");
        sim.Network.Heal();
        Assert.Equal([4], sim.Await(last, "the last frame")!.Value.ToArray());
        Assert.Null(sim.Await(server.Spawn(_ => end.ReceiveAsync()), "the close after it"));
    }

    [Fact]
    public void Sending_to_a_closed_end_breaks_the_connection_a_round_trip_later()
    {
        // A real closed socket answers data with a reset, and the sender's later sends fail
        // (SeamTests.Sending_to_a_closed_end_breaks_the_connection). The simulated closed end discarded what arrived
        // and the sender never learnt: its sends succeeded for ever.
        var (sim, client, server) = TwoNodes(seed: 6);
        var accepted = Accept(sim, server);
        var connection = sim.Await(client.Spawn(r => r.Streams.ConnectAsync(server.TransferAddress)), "the connect");
        var end = accepted();
        sim.Await(server.Spawn(_ =>
        {
            end.Dispose();
            return Task.CompletedTask;
        }), "the close");
        Assert.Null(sim.Await(client.Spawn(_ => connection.ReceiveAsync()), "the close, read as a clean end"));
        sim.Await(client.Spawn(_ => connection.SendAsync(new byte[] { 1 })), "a send into the buffer");
        sim.RunFor(SimHarness.Second);
        var later = client.Spawn(_ => connection.SendAsync(new byte[] { 2 }));
        sim.RunFor(SimHarness.Second);
        Assert.True(later.IsFaulted, "a send after the reset came back fails");
        Assert.IsType<StreamBrokenException>(later.Exception!.InnerException);
    }

    [Fact]
    public void A_send_waits_while_its_peer_leaves_the_buffers_full()
    {
        // A real send blocks once the peer's receive window and the local send buffer are full: a sender cannot run
        // ahead of a reader that is busy or paused by more than the buffers hold. The simulated send completed at
        // link bandwidth whatever the peer did, and the peer's inbox grew without bound.
        var (sim, client, server) = TwoNodes(seed: 7);
        var accepted = Accept(sim, server);
        var connection = sim.Await(client.Spawn(r => r.Streams.ConnectAsync(server.TransferAddress)), "the connect");
        var end = accepted();
        var frame = new byte[1 << 20];
        var sends = sim.Await(client.Spawn(_ => Task.FromResult(
            Enumerable.Range(0, 8).Select(_ => connection.SendAsync(frame)).ToList())), "eight 1 MiB sends");
        sim.RunFor(10 * SimHarness.Second);
        Assert.Equal(SimConnection.BufferBytesMax / frame.Length, sends.Count(send => send.IsCompletedSuccessfully));

        sim.Await(server.Spawn(_ => end.ReceiveAsync()), "one frame read");
        sim.RunFor(SimHarness.Second);
        Assert.Equal(SimConnection.BufferBytesMax / frame.Length + 1, sends.Count(send => send.IsCompletedSuccessfully));
        for (var read = 1; read < 8; read++)
        {
            sim.Await(server.Spawn(_ => end.ReceiveAsync()), "the rest");
        }

        sim.RunFor(SimHarness.Second);
        Assert.All(sends, send => Assert.True(send.IsCompletedSuccessfully));
    }

    private static (Simulation Sim, SimNode Client, SimNode Server) TwoNodes(ulong seed)
    {
        var sim = new Simulation(new SimulationOptions { Seed = seed });
        var client = sim.AddNode("n1", _ => new IdleProgram());
        var server = sim.AddNode("n2", _ => new IdleProgram());
        client.Start();
        server.Start();
        return (sim, client, server);
    }

    /// <summary>Makes <paramref name="server"/> accept connections; the last accepted end.</summary>
    private static Func<IStreamConnection> Accept(Simulation sim, SimNode server)
    {
        var accepted = new List<IStreamConnection>();
        sim.Await(server.Spawn(r =>
        {
            r.Streams.SetAcceptor(accepted.Add);
            return Task.CompletedTask;
        }), "the acceptor");
        return () => Assert.Single(accepted);
    }
}
