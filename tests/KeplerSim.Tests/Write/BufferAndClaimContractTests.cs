using KeplerSim.Core;
using KeplerSim.Core.Write;

namespace KeplerSim.Tests.Write;

/// <summary>
/// The upload buffers' bound and reuse (<see cref="UploadBuffers"/>, <see cref="UploadBudget"/>) and the orphan
/// claims' lifecycle (<see cref="OrphanClaims"/>), each class on its own: what the write path's mutation run left
/// unchecked (docs/mutation/node-survivors-2026-12-06.tsv).
/// </summary>
[Trait("Category", "Fast")]
public sealed class BufferAndClaimContractTests
{
    private const int C = 1024;

    /// <summary>How long a wait that should end at once may take before the test fails instead of hanging.</summary>
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Memory per upload is bounded: at most <c>lentMax</c> buffers stay lent to pushes still reading them; past
    /// that the upload waits for a push to end, then reuses that very buffer rather than take another.
    /// </summary>
    [Fact]
    public async Task An_upload_with_its_lent_buffers_at_the_bound_waits_for_a_push_and_reuses_its_buffer()
    {
        var budget = new UploadBudget(8);
        var buffers = new UploadBuffers(C, lentMax: 1, budget);
        var first = await buffers.TakeAsync(chunksInFlight: 0);
        var push = new TaskCompletionSource();
        buffers.Release(first!, new ChunkPushes { Ended = push.Task });

        var next = buffers.TakeAsync(chunksInFlight: 0);
        Assert.False(next.IsCompleted, "one buffer lent, one allowed: the upload waits for the push to end");
        Assert.Equal(1, budget.Taken);
        push.SetResult();
        Assert.Same(first, await next.WaitAsync(Bounded)); // A mutant that loses the buffer waits for ever.
        Assert.Equal(1, budget.Taken);
        buffers.Dispose();
        Assert.Equal(0, budget.Taken);
    }

    /// <summary>
    /// With the node's budget spent and no chunk of its own in flight, an upload whose only buffer is still lent
    /// waits for that push (it cannot reuse a chunk in flight instead), then reuses the buffer.
    /// </summary>
    [Fact]
    public async Task An_upload_out_of_budget_with_its_buffer_lent_waits_for_the_push_then_reuses_it()
    {
        var budget = new UploadBudget(1);
        var buffers = new UploadBuffers(C, lentMax: 4, budget);
        var only = await buffers.TakeAsync(chunksInFlight: 0);
        var push = new TaskCompletionSource();
        buffers.Release(only!, new ChunkPushes { Ended = push.Task });

        var next = buffers.TakeAsync(chunksInFlight: 0);
        Assert.False(next.IsCompleted, "the budget is spent and the one buffer is lent: wait for its push");
        push.SetResult();
        Assert.Same(only, await next.WaitAsync(Bounded));
        buffers.Dispose();
    }

    /// <summary>
    /// A buffer whose push ended before its upload did is kept for the next upload, as a spare one is.
    /// </summary>
    [Fact]
    public async Task A_lent_buffer_whose_push_ended_is_kept_for_the_next_upload()
    {
        var budget = new UploadBudget(8);
        var buffers = new UploadBuffers(C, lentMax: 4, budget);
        var lent = await buffers.TakeAsync(chunksInFlight: 0);
        var push = new TaskCompletionSource();
        buffers.Release(lent!, new ChunkPushes { Ended = push.Task });
        push.SetResult();
        buffers.Dispose();
        Assert.Same(lent, budget.Rent(C));
    }

    [Fact]
    public void The_budget_hands_out_what_it_has_at_once_queues_the_rest_and_refuses_to_go_negative()
    {
        var budget = new UploadBudget(2);
        Assert.True(budget.TakeAsync().IsCompletedSuccessfully, "a budget with buffers left hands one out at once");
        Assert.Equal(1, budget.Taken);
        Assert.True(budget.TryTake());
        var waiting = budget.TakeAsync();
        Assert.False(waiting.IsCompleted);
        budget.Return(1);
        Assert.True(waiting.IsCompletedSuccessfully, "a returned buffer goes to the waiter");
        Assert.Equal(2, budget.Taken);
        budget.Return(2);
        Assert.Equal(0, budget.Taken);
        Assert.Throws<InvariantViolationException>(() => budget.Return(1)); // More back than lent: a bug.
    }

    /// <summary>A copy recorded by a path that carries no write (a repair, a queued delivery) is never an orphan.
    /// </summary>
    [Fact]
    public void A_claim_without_a_write_stops_the_tracking_for_good()
    {
        var claims = new OrphanClaims();
        claims.Claim("a", "w1", created: true, nowMicroseconds: 0);
        claims.Claim("a", requestId: null, created: true, nowMicroseconds: 1);
        Assert.Equal(0, claims.Count);
        claims.Claim("b", requestId: null, created: true, nowMicroseconds: 1);
        Assert.Equal(0, claims.Count);
        claims.Abandon("a", "w1", 2);
        Assert.Empty(claims.Due(nowMicroseconds: 1_000, graceMicroseconds: 10, forgetMicroseconds: 100));
    }

    /// <summary>
    /// A write abandoned long after it claimed its copy (its writer was paused longer than the gc grace, which is
    /// when open claims are forgotten) still orphans it: the copy is due once the orphan grace has passed since the
    /// abandonment, not forgotten because the claim is old.
    /// </summary>
    [Fact]
    public void A_claim_abandoned_long_after_it_was_made_is_due_after_the_orphan_grace()
    {
        var claims = new OrphanClaims();
        claims.Claim("a", "w1", created: true, nowMicroseconds: 0);
        claims.Abandon("a", "w1", nowMicroseconds: 90);
        Assert.Empty(claims.Due(nowMicroseconds: 120, graceMicroseconds: 60, forgetMicroseconds: 100));
        Assert.Equal(["a"], claims.Due(nowMicroseconds: 150, graceMicroseconds: 60, forgetMicroseconds: 100));
    }
}
