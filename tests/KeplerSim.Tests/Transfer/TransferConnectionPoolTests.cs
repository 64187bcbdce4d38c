using KeplerSim.Core.Runtime;
using KeplerSim.Core.Transfer;

namespace KeplerSim.Tests.Transfer;

/// <summary>
/// The requesting side's pool of idle transfer connections, in isolation over a clock the test sets: a connection
/// idle for exactly <see cref="TransferConnectionPool.IdleMicrosecondsMax"/> is closed instead of used (it would meet
/// a peer closing it), one to another address (the peer restarted elsewhere) too; at most
/// <see cref="TransferConnectionPool.IdlePerPeerMax"/> wait per peer; a dropped peer's connections, idle or lent,
/// never come back; the sweep closes what idled too long without being asked. ConnectionReuseTests see the pool
/// through whole writes; these pin its limits, which no write in them reaches.
/// </summary>
[Trait("Category", "Fast")]
public sealed class TransferConnectionPoolTests
{
    private const long Idle = TransferConnectionPool.IdleMicrosecondsMax;
    private static readonly NodeId Peer = new("n2");
    private static readonly NodeId Other = new("n3");
    private static readonly NetAddress Address = new("10.0.0.2", 7000);

    [Fact]
    public void The_most_recently_returned_connection_is_taken_first_and_one_idle_the_limit_is_closed()
    {
        var clock = new SetClock();
        var pool = new TransferConnectionPool(clock);
        var (older, newer) = (Open(pool), Open(pool));
        pool.Return(older.Pooled);
        clock.Now = 10;
        pool.Return(newer.Pooled);
        Assert.Equal(2, pool.Idle);
        Assert.Equal(2, pool.IdleTo(Peer));
        Assert.Equal(0, pool.IdleTo(Other));

        Assert.Same(newer.Pooled, pool.Take(Peer, Address));
        clock.Now = Idle - 1; // older returned at 0: still fresh one microsecond before the limit.
        Assert.Same(older.Pooled, pool.Take(Peer, Address));
        Assert.Null(pool.Take(Peer, Address));

        pool.Return(older.Pooled);
        clock.Now += Idle;
        Assert.Null(pool.Take(Peer, Address)); // Idle exactly the limit: closed, not used.
        Assert.True(older.Inner.Disposed);
        Assert.Equal(0, pool.Idle);
    }

    [Fact]
    public void A_connection_to_an_old_address_is_closed_instead_of_used()
    {
        var clock = new SetClock();
        var pool = new TransferConnectionPool(clock);
        var connection = Open(pool);
        pool.Return(connection.Pooled);
        Assert.Null(pool.Take(Peer, Address with { Port = 7001 }));
        Assert.True(connection.Inner.Disposed);
        Assert.Null(pool.Take(Other, Address)); // A peer never seen.
    }

    [Fact]
    public void At_most_idle_per_peer_max_connections_wait_for_one_peer()
    {
        var pool = new TransferConnectionPool(new SetClock());
        var connections = Enumerable.Range(0, TransferConnectionPool.IdlePerPeerMax + 1).Select(_ => Open(pool))
            .ToList();
        connections.ForEach(c => pool.Return(c.Pooled));
        Assert.Equal(TransferConnectionPool.IdlePerPeerMax, pool.IdleTo(Peer));
        Assert.All(connections.SkipLast(1), c => Assert.False(c.Inner.Disposed));
        Assert.True(connections[^1].Inner.Disposed);
    }

    [Fact]
    public void A_dropped_peer_loses_its_idle_connections_and_those_lent_out_do_not_come_back()
    {
        var pool = new TransferConnectionPool(new SetClock());
        var (idle, lent) = (Open(pool), Open(pool));
        var other = Open(pool, Other);
        pool.Return(idle.Pooled);
        pool.Return(other.Pooled);

        pool.Drop(Peer);
        pool.Drop(new NodeId("never-seen")); // Nothing to drop.
        Assert.True(idle.Inner.Disposed);
        Assert.Equal(0, pool.IdleTo(Peer));
        pool.Return(lent.Pooled); // Its exchange ended after the drop.
        Assert.True(lent.Inner.Disposed);
        Assert.Equal(0, pool.IdleTo(Peer));

        var fresh = Open(pool); // Opened after the drop: pooled as usual.
        pool.Return(fresh.Pooled);
        Assert.Equal(1, pool.IdleTo(Peer));
        Assert.Equal(1, pool.IdleTo(Other));
        Assert.False(other.Inner.Disposed);
    }

    [Fact]
    public void Discarding_a_peers_idle_connections_spares_connections_opened_later_and_other_peers()
    {
        var pool = new TransferConnectionPool(new SetClock());
        var (first, second, other) = (Open(pool), Open(pool), Open(pool, Other));
        pool.Return(first.Pooled);
        pool.Return(other.Pooled);
        pool.DiscardIdle(Peer);
        pool.DiscardIdle(new NodeId("never-seen"));
        Assert.True(first.Inner.Disposed);
        Assert.Equal(0, pool.IdleTo(Peer));
        pool.Return(second.Pooled); // Not a drop: a connection lent out meanwhile comes back.
        Assert.Equal(1, pool.IdleTo(Peer));
        Assert.Equal(1, pool.IdleTo(Other));
    }

    [Fact]
    public void A_closed_pool_closes_what_it_holds_and_what_comes_back()
    {
        var pool = new TransferConnectionPool(new SetClock());
        var (idle, lent, other) = (Open(pool), Open(pool), Open(pool, Other));
        pool.Return(idle.Pooled);
        pool.Return(other.Pooled);
        pool.Close();
        Assert.True(idle.Inner.Disposed);
        Assert.True(other.Inner.Disposed);
        pool.Return(lent.Pooled);
        Assert.True(lent.Inner.Disposed);
        Assert.Equal(0, pool.Idle);
    }

    [Fact]
    public void A_connection_closed_while_lent_is_not_pooled()
    {
        var pool = new TransferConnectionPool(new SetClock());
        var connection = Open(pool);
        connection.Pooled.Dispose();
        pool.Return(connection.Pooled);
        Assert.Equal(0, pool.Idle);
    }

    [Fact]
    public void A_return_sweeps_connections_idle_too_long_at_most_twice_per_idle_limit()
    {
        var clock = new SetClock();
        var pool = new TransferConnectionPool(clock);
        var (stale, other, trigger, late) = (Open(pool), Open(pool, Other), Open(pool, new NodeId("n4")),
            Open(pool, new NodeId("n4")));
        pool.Return(stale.Pooled); // At 0: the first return sweeps (nothing yet) and sets the next sweep at Idle/2.
        pool.Return(other.Pooled);
        clock.Now = Idle / 2 - 1;
        pool.Return(trigger.Pooled); // Before the next sweep: nothing is closed.
        Assert.Equal(3, pool.Idle);

        clock.Now = Idle;
        pool.Return(late.Pooled); // A sweep: the two returned at 0 idled exactly the limit, on any peer.
        Assert.True(stale.Inner.Disposed);
        Assert.True(other.Inner.Disposed);
        Assert.False(trigger.Inner.Disposed);
        Assert.Equal(2, pool.Idle);
        Assert.Equal(0, pool.IdleTo(Peer));

        clock.Now = Idle + Idle / 2 - 1; // trigger idle beyond the limit, but the next sweep is not due yet.
        pool.Return(Open(pool, Other).Pooled);
        Assert.False(trigger.Inner.Disposed);
        clock.Now = Idle + Idle / 2;
        pool.Return(Open(pool, Other).Pooled);
        Assert.True(trigger.Inner.Disposed);
        Assert.False(late.Inner.Disposed);
    }

    [Fact]
    public async Task A_lent_connection_tracks_replies_and_closes_of_its_current_exchange_only()
    {
        var inner = new FakeConnection();
        var connection = new TransferConnectionPool(new SetClock()).Adopt(inner, Peer, Address);
        connection.Lend(reused: true);
        Assert.True(connection.Reused);
        inner.Frames.Enqueue(new byte[] { 1 });
        Assert.NotNull(await connection.ReceiveAsync());
        Assert.True(connection.Answered);
        Assert.False(connection.PeerClosed);
        connection.Finish();
        Assert.True(connection.Finished);

        connection.Lend(reused: false);
        Assert.False(connection.Reused);
        Assert.False(connection.Answered);
        Assert.False(connection.Finished);
        Assert.Null(await connection.ReceiveAsync()); // No frame queued: the peer closed it.
        Assert.True(connection.PeerClosed);
        Assert.False(connection.Answered);
        connection.Lend(reused: true);
        Assert.False(connection.PeerClosed);

        connection.Dispose();
        connection.Dispose();
        Assert.Equal(1, inner.Disposals);
    }

    private static (PooledConnection Pooled, FakeConnection Inner) Open(TransferConnectionPool pool,
        NodeId? node = null)
    {
        var inner = new FakeConnection();
        return (pool.Adopt(inner, node ?? Peer, Address), inner);
    }

    private sealed class SetClock : IClock
    {
        public long Now { get; set; }

        public long MonotonicMicroseconds => Now;

        public long WallMicroseconds => Now;

        public Task DelayAsync(long delayMicroseconds, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public IDisposable Schedule(long delayMicroseconds, Action callback) => throw new NotSupportedException();
    }

    private sealed class FakeConnection : IStreamConnection
    {
        public Queue<byte[]> Frames { get; } = new();

        public int Disposals { get; private set; }

        public bool Disposed => Disposals > 0;

        public NetAddress Remote => Address;

        public Task SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken = default) =>
            Task.CompletedTask;

        public Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancellationToken = default) =>
            Task.FromResult(Frames.TryDequeue(out var frame) ? (ReadOnlyMemory<byte>?)frame : null);

        public void Dispose() => Disposals++;
    }
}
