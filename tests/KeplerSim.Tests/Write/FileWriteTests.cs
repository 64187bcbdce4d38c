using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Write;

namespace KeplerSim.Tests.Write;

/// <summary>
/// The write owner in isolation, over a fake node: it acknowledges a write only when every chunk has the copies its
/// durability requires (distinct owners, counted once each), makes its records durable before the manifest goes
/// anywhere, and fails with <see cref="DurabilityNotMetException"/> when the copies do not arrive in time.
/// </summary>
[Trait("Category", "Fast")]
public sealed class FileWriteTests
{
    private static readonly NodeId Self = new("n1");
    private static readonly NodeId Second = new("n2");
    private static readonly NodeId Third = new("n3");
    private const int ChunkSizeBytes = 1024;

    [Fact]
    public void A_quorum_write_is_acknowledged_only_once_a_second_owner_confirms_every_chunk()
    {
        using var _ = new NoSynchronizationContext();
        var node = new FakeWriteNode([Self, Second, Third]);
        var write = Start(node, Durability.Quorum, copiesRequired: 2, sizeBytes: 2 * ChunkSizeBytes);

        Assert.False(write.IsCompleted, "one copy (this node's) is not a quorum of 3");
        Assert.Equal(2, node.Stored.Count);
        Assert.Equal(4, node.Pushes.Count); // Each chunk to its two other owners, straight from memory.
        node.Pending.Confirm(node.Stored[0], Second);
        Assert.False(write.IsCompleted, "the second chunk still has one copy");
        Assert.Empty(node.Published);

        node.Pending.Confirm(node.Stored[1], Third);
        Assert.True(write.IsCompletedSuccessfully, "both chunks have two copies");
        Assert.Single(node.Published);
        // The manifest needs as many holders as the write promised at its start (chaos case 4YWI5piCrs12: the
        // manifest's count was re-read at publish time, after an operator lowered the replication factor mid-write,
        // and an 'all' write begun under N=3 was acknowledged with its manifest on one node).
        Assert.Equal([2], node.ManifestCopies);
        Assert.Equal(2, node.DurableThrough); // Both chunk records committed before the manifest.
        Assert.Equal(0, node.Pending.ChunkCount);
        var ack = Assert.IsType<WriteAcknowledged>(Assert.Single(node.Events));
        Assert.Equal(2, ack.Chunks);
        Assert.Equal(1, node.Metrics.WritesAcknowledged);
    }

    [Fact]
    public void An_all_write_counts_each_owner_once()
    {
        using var _ = new NoSynchronizationContext();
        var node = new FakeWriteNode([Self, Second, Third]);
        var write = Start(node, Durability.All, copiesRequired: 3, sizeBytes: 100);

        node.Pending.Confirm(node.Stored[0], Second);
        node.Pending.Confirm(node.Stored[0], Second); // A queued delivery after the direct push: the same copy.
        node.Pending.Confirm(node.Stored[0], Self);   // This node's copy was counted when it was stored.
        Assert.False(write.IsCompleted, "two distinct copies are not all three");

        node.Pending.Confirm(node.Stored[0], Third);
        Assert.True(write.IsCompletedSuccessfully, "three distinct owners hold the chunk");
    }

    [Fact]
    public void A_write_whose_copies_do_not_arrive_in_time_fails_and_publishes_nothing()
    {
        using var _ = new NoSynchronizationContext();
        var node = new FakeWriteNode([Self, Second, Third]);
        var write = Start(node, Durability.Quorum, copiesRequired: 2, sizeBytes: 100);

        Assert.False(write.IsCompleted);
        node.Clock.FireTimeouts();
        Assert.True(write.IsFaulted, "the write must fail when its time is up");
        Assert.IsType<DurabilityNotMetException>(write.Exception?.InnerException);
        Assert.Empty(node.Published);
        Assert.Empty(node.Events);
        Assert.Equal(1, node.Metrics.WritesTimedOut);
        Assert.Equal(0, node.Pending.ChunkCount); // A failed write leaves nothing waiting on its chunks.
        // Its chunks are handed to orphan collection, under its request id (docs/PROTOCOL.md, "Orphan chunks").
        var (requestId, chunkIds) = Assert.Single(node.Abandoned);
        Assert.Equal("n1/1", requestId);
        Assert.Equal(node.Stored, chunkIds);
    }

    [Fact]
    public void A_chunk_this_node_does_not_own_needs_the_copies_from_its_owners()
    {
        using var _ = new NoSynchronizationContext();
        var node = new FakeWriteNode([Second, Third]); // This node keeps a hinted copy, which does not count.
        var write = Start(node, Durability.Quorum, copiesRequired: 2, sizeBytes: 100);

        node.Pending.Confirm(node.Stored[0], Second);
        Assert.False(write.IsCompleted, "a hinted copy is not an owner copy");
        node.Pending.Confirm(node.Stored[0], Third);
        Assert.True(write.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_fast_write_is_acknowledged_with_this_node_copy_and_pushes_nothing()
    {
        using var _ = new NoSynchronizationContext();
        var node = new FakeWriteNode([Self, Second, Third]);
        var write = Start(node, Durability.Fast, copiesRequired: 0, sizeBytes: 3 * ChunkSizeBytes + 1);

        Assert.True(write.IsCompletedSuccessfully, "fast waits for no replica");
        Assert.Equal([1], node.ManifestCopies); // This node's manifest.
        Assert.Equal(4, node.Stored.Count);
        Assert.Empty(node.Pushes); // Its chunks go through the queue.
        Assert.Equal(4, node.DurableThrough);
        Assert.Equal(3 * ChunkSizeBytes + 1, (await write).SizeBytes);
        Assert.Empty(node.Abandoned); // An acknowledged write abandons nothing.
    }

    /// <summary>
    /// A stream that fails while a chunk is still being stored: the failure waits for that chunk (FileWrite's
    /// DrainAsync) and the write abandons it with the rest. Without the drain the failure propagated at once: the
    /// write was abandoned with only the chunks recorded so far, and the chunk stored afterwards was recorded for a
    /// write that no longer existed (its claim left open, so kept for the gc grace instead of the orphan grace) and
    /// put the tracker back into PendingWrites after the write had removed it.
    /// </summary>
    [Fact]
    public void A_stream_that_fails_while_a_chunk_stores_waits_for_it_and_abandons_it_with_the_write()
    {
        using var _ = new NoSynchronizationContext();
        var node = new FakeWriteNode([Self]) { StoreGate = new TaskCompletionSource() };
        var options = new KeplerOptions { ChunkSizeBytes = ChunkSizeBytes, UploadChunksInFlight = 4 };
        var write = new FileWrite(node, node, options, "n1/1", FilePath.Parse("t/file"), Durability.Fast, 0)
            .RunAsync(new BrokenAfterStream(Enumerable.Repeat((byte)7, ChunkSizeBytes).ToArray()));

        Assert.Single(node.Stored);
        Assert.False(write.IsCompleted, "the failure must wait for the chunk still storing");
        node.StoreGate.SetResult();
        Assert.True(write.IsFaulted, "the stream's failure is the write's");
        Assert.IsType<IOException>(write.Exception?.InnerException);
        var (requestId, chunkIds) = Assert.Single(node.Abandoned);
        Assert.Equal("n1/1", requestId);
        Assert.Equal(node.Stored, chunkIds);
        Assert.Equal(0, node.Pending.ChunkCount);
        Assert.Empty(node.Published);
    }

    /// <summary>
    /// A manifest lists at most <see cref="Chunker.ChunkCountMax"/> (2^18) chunks: the chunk after the last one a
    /// manifest can hold is refused before it is stored (1-byte chunks keep the stream at 256 KiB + 1 byte).
    /// </summary>
    [Fact]
    public void A_stream_of_one_chunk_more_than_a_manifest_holds_is_refused_before_that_chunk_is_stored()
    {
        using var _ = new NoSynchronizationContext();
        var node = new FakeWriteNode([Self]);
        var options = new KeplerOptions { ChunkSizeBytes = 1, UploadChunksInFlight = 4 };
        var content = new MemoryStream(new byte[Chunker.ChunkCountMax + 1]);
        var write = new FileWrite(node, node, options, "n1/1", FilePath.Parse("t/big"), Durability.Fast, 0)
            .RunAsync(content);

        Assert.True(write.IsFaulted, "a stream of 2^18 + 1 one-byte chunks must be refused");
        var error = Assert.IsType<InvalidDataException>(write.Exception?.InnerException);
        Assert.Contains($"more than {Chunker.ChunkCountMax} chunks of 1 bytes", error.Message);
        Assert.Equal(Chunker.ChunkCountMax, node.Stored.Count);
        Assert.Empty(node.Published);
    }

    private static Task<Manifest> Start(FakeWriteNode node, Durability durability, int copiesRequired, int sizeBytes)
    {
        var content = new byte[sizeBytes];
        new DeterministicRandom((ulong)sizeBytes).NextBytes(content);
        var options = new KeplerOptions { ChunkSizeBytes = ChunkSizeBytes, UploadChunksInFlight = 4 };
        var write = new FileWrite(node, node, options, "n1/1", FilePath.Parse("t/file"), durability,
            copiesRequired);
        return write.RunAsync(new MemoryStream(content));
    }

    /// <summary>Runs continuations inline, where the awaited task completes (as on the node's one thread).</summary>
    private sealed class NoSynchronizationContext : IDisposable
    {
        private readonly SynchronizationContext? _previous = SynchronizationContext.Current;

        public NoSynchronizationContext() => SynchronizationContext.SetSynchronizationContext(null);

        public void Dispose() => SynchronizationContext.SetSynchronizationContext(_previous);
    }

    /// <summary>A node whose ring gives every chunk the same owners and whose pushes never end on their own.</summary>
    private sealed class FakeWriteNode(IReadOnlyList<NodeId> owners) : IWriteContext, IChunkPusher, IEventPublisher
    {
        private long _commits;

        public List<string> Stored { get; } = [];
        public List<(string ChunkId, NodeId Owner)> Pushes { get; } = [];
        public List<Manifest> Published { get; } = [];
        public List<int> ManifestCopies { get; } = [];
        public List<(string RequestId, IReadOnlyList<string> ChunkIds)> Abandoned { get; } = [];
        public List<KeplerEvent> Events { get; } = [];
        public long DurableThrough { get; private set; }
        public ManualClock Clock { get; } = new();

        public NodeId Self => FileWriteTests.Self;
        IClock IWriteContext.Clock => Clock;
        IEventPublisher IWriteContext.Events => this;
        public NodeMetrics Metrics { get; } = new();
        public PendingWrites Pending { get; } = new();

        public UploadBudget UploadBudget { get; } = new(64);

        public IReadOnlyList<NodeId> OwnersOf(string chunkId) => owners;

        /// <summary>When set, every chunk store ends only once the test completes it.</summary>
        public TaskCompletionSource? StoreGate { get; init; }

        public async Task<ChunkId> StoreChunkAsync(ReadOnlyMemory<byte> data)
        {
            var id = ChunkId.Parse(ChunkStore.IdOf(data.Span));
            Stored.Add(id.Hex);
            if (StoreGate is not null)
            {
                await StoreGate.Task;
            }

            return id;
        }

        public long RecordChunk(string chunkId, long sizeBytes, string requestId) => ++_commits;

        public Task PushAsync(string chunkId, NodeId owner, ReadOnlyMemory<byte> data)
        {
            Pushes.Add((chunkId, owner));
            return new TaskCompletionSource().Task;
        }

        public void AbandonWrite(string requestId, IReadOnlyList<string> chunkIds) =>
            Abandoned.Add((requestId, chunkIds));

        public void KickReplication()
        {
        }

        public void MakeDurable(long commitSequence) => DurableThrough = Math.Max(DurableThrough, commitSequence);

        public Manifest NewVersion(FilePath path, ChunkList chunks) =>
            Manifest.Create(path, chunks, new VersionToken(1, 0, Self), Self);

        public Task PublishManifestAsync(Manifest manifest, int copiesRequired)
        {
            ManifestCopies.Add(copiesRequired);
            Assert.True(DurableThrough == _commits, "every chunk record is durable before the manifest is published");
            Published.Add(manifest);
            return Task.CompletedTask;
        }

        IObservable<KeplerEvent> IEventPublisher.Stream => throw new NotSupportedException();

        void IEventPublisher.Publish(KeplerEvent kepler) => Events.Add(kepler);
    }

    /// <summary>Returns its bytes, then fails the next read with an I/O error (a client connection cut).</summary>
    private sealed class BrokenAfterStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Position < Length ? base.ReadAsync(buffer, cancellationToken) : throw new IOException("connection reset");
    }

    /// <summary>A clock whose delays end only when the test fires them.</summary>
    private sealed class ManualClock : IClock
    {
        private readonly List<TaskCompletionSource> _delays = [];

        public long MonotonicMicroseconds => 0;
        public long WallMicroseconds => 0;

        public Task DelayAsync(long delayMicroseconds, CancellationToken cancellationToken = default)
        {
            var delay = new TaskCompletionSource();
            _delays.Add(delay);
            return delay.Task;
        }

        public IDisposable Schedule(long delayMicroseconds, Action callback) => throw new NotSupportedException();

        public void FireTimeouts()
        {
            foreach (var delay in _delays.ToList())
            {
                delay.TrySetResult();
            }
        }
    }
}
