using KeplerSim.Core.Runtime;
using KeplerSim.Core.Write;

namespace KeplerSim.Tests.Write;

/// <summary>
/// The acknowledgement count of one write, in isolation: each chunk needs its copies on distinct owners, and the
/// write is done only when every chunk has them. Copies beyond the required count (a third owner of a quorum
/// write, a queued delivery after a direct push) must not count toward another chunk.
/// </summary>
[Trait("Category", "Fast")]
public sealed class WriteTrackerTests
{
    private static readonly NodeId N1 = new("n1");
    private static readonly NodeId N2 = new("n2");
    private static readonly NodeId N3 = new("n3");

    [Fact]
    public void Extra_copies_of_one_chunk_never_complete_a_write_whose_other_chunk_lacks_its_copies()
    {
        var tracker = new WriteTracker("w", required: 2);
        tracker.Expect("a", owners: 3);
        tracker.Expect("b", owners: 3);
        tracker.Confirm("a", N1);
        tracker.Confirm("b", N1);
        tracker.Confirm("a", N2);
        Assert.True(tracker.CopiesOf("a").IsCompleted);
        tracker.Confirm("a", N3); // A third copy of a quorum chunk: more than needed, and counted nowhere else.
        tracker.Confirm("a", N3);
        Assert.False(tracker.CopiesOf("b").IsCompleted);
        Assert.False(tracker.Done.IsCompleted, "chunk b has one copy of the two required");

        tracker.Confirm("b", N3);
        Assert.True(tracker.CopiesOf("b").IsCompleted);
        Assert.True(tracker.Done.IsCompleted);
    }

    [Fact]
    public void Each_owner_counts_once_and_a_chunk_expected_twice_is_counted_once()
    {
        var tracker = new WriteTracker("w", required: 3);
        tracker.Expect("a", owners: 3);
        tracker.Confirm("a", N2);
        tracker.Expect("a", owners: 3); // The file repeats the chunk: its count goes on.
        tracker.Confirm("a", N2);
        tracker.Confirm("a", N1);
        Assert.False(tracker.Done.IsCompleted, "two distinct owners of three");
        Assert.False(tracker.CopiesOf("a").IsCompleted);
        tracker.Confirm("a", N3);
        Assert.True(tracker.Done.IsCompleted);
        Assert.Equal(["a"], tracker.ChunkIds);
    }

    [Fact]
    public void A_copy_of_a_chunk_the_write_does_not_have_counts_for_nothing()
    {
        var tracker = new WriteTracker("w", required: 1);
        tracker.Expect("a", owners: 1);
        tracker.Confirm("other", N1);
        Assert.False(tracker.Done.IsCompleted);
        tracker.Confirm("a", N1);
        Assert.True(tracker.Done.IsCompleted);
    }

    [Fact]
    public void A_fast_write_waits_for_no_copy_and_a_write_without_chunks_is_done_at_once()
    {
        var fast = new WriteTracker("w", required: 0);
        fast.Expect("a", owners: 3);
        Assert.True(fast.CopiesOf("a").IsCompleted);
        Assert.True(fast.Done.IsCompleted);
        Assert.Equal(0, fast.Required);

        var empty = new WriteTracker("w", required: 2);
        Assert.True(empty.Done.IsCompleted, "an empty file has no chunk to wait for");
        Assert.Empty(empty.ChunkIds);
    }

    [Fact]
    public void Done_asked_before_the_last_copy_completes_with_it()
    {
        var tracker = new WriteTracker("w", required: 1);
        tracker.Expect("a", owners: 1);
        tracker.Expect("b", owners: 1);
        var done = tracker.Done;
        tracker.Confirm("b", N1);
        Assert.False(done.IsCompleted);
        tracker.Confirm("a", N1);
        Assert.True(done.IsCompleted);
        Assert.Equal(["a", "b"], tracker.ChunkIds); // Ordinal order, whatever the order they came in.
    }

    [Fact]
    public void A_chunk_without_owners_is_a_bug()
    {
        var tracker = new WriteTracker("w", required: 1);
        Assert.ThrowsAny<Exception>(() => tracker.Expect("a", owners: 0));
    }

    [Fact]
    public void Pending_writes_confirm_a_copy_to_every_write_waiting_on_the_chunk_and_forget_finished_ones()
    {
        var pending = new PendingWrites();
        var (first, second) = (new WriteTracker("w1", required: 1), new WriteTracker("w2", required: 1));
        first.Expect("a", owners: 1);
        second.Expect("a", owners: 1);
        second.Expect("b", owners: 1);
        pending.Add("a", first);
        pending.Add("a", first); // The file repeats the chunk: one registration.
        pending.Add("a", second);
        pending.Add("b", second);
        Assert.Equal(2, pending.ChunkCount);
        Assert.True(pending.Contains("a"));

        pending.Confirm("a", N1);
        Assert.True(first.Done.IsCompleted);
        Assert.True(second.CopiesOf("a").IsCompleted);
        pending.Remove(first);
        Assert.True(pending.Contains("a")); // second still waits on it.
        pending.Remove(second);
        Assert.Equal(0, pending.ChunkCount);
        Assert.False(pending.Contains("a"));
        pending.Confirm("a", N2); // Nobody waits: nothing happens.
    }
}
