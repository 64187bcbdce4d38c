using KeplerSim.Core.Replication;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Replication;

/// <summary>
/// The repair and rebalance bandwidth cap on its own (GCRA form). Written for the Stryker survivors in
/// Replication/TokenBucket.cs (docs/TESTING.md, Replication/ before: 11 of 13 survived): the fast node tests never
/// send enough to reach the cap, so no test looked at the waits.
/// </summary>
[Trait("Category", "Fast")]
public sealed class TokenBucketTests
{
    [Fact]
    public void Within_one_burst_nothing_waits_and_every_byte_is_counted()
    {
        var clock = new StepClock();
        var bucket = new TokenBucket(clock, bytesPerSecond: 1000); // burst: one second, 1000 bytes
        Assert.True(bucket.TakeAsync(600).IsCompleted);
        Assert.True(bucket.TakeAsync(400).IsCompleted, "exactly one burst does not wait");
        Assert.Equal(1000, bucket.GrantedBytes);
        Assert.Empty(clock.Delays);
    }

    [Fact]
    public void Past_the_burst_a_caller_waits_for_the_excess_at_the_rate()
    {
        var clock = new StepClock();
        var bucket = new TokenBucket(clock, bytesPerSecond: 1000);
        Assert.True(bucket.TakeAsync(1000).IsCompleted);
        Assert.False(bucket.TakeAsync(250).IsCompleted, "over the burst: the caller waits");
        Assert.Equal([250_000L], clock.Delays); // 250 bytes at 1000 B/s
        Assert.Equal(1250, bucket.GrantedBytes);
        Assert.False(bucket.TakeAsync(500).IsCompleted);
        Assert.Equal(750_000L, clock.Delays[^1]); // queued behind the first: 750 bytes over the burst
    }

    [Fact]
    public void Time_passing_refills_the_bucket()
    {
        var clock = new StepClock();
        var bucket = new TokenBucket(clock, bytesPerSecond: 1000);
        Assert.True(bucket.TakeAsync(1000).IsCompleted);
        clock.Now = 2_000_000; // two seconds later the bucket is full again (not more: one burst)
        Assert.True(bucket.TakeAsync(1000).IsCompleted);
        Assert.False(bucket.TakeAsync(100).IsCompleted);
        Assert.Equal([100_000L], clock.Delays);
    }

    [Fact]
    public void A_rate_must_be_positive_and_a_clock_given()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(new StepClock(), 0));
        Assert.Throws<ArgumentNullException>(() => new TokenBucket(null!, 1000));
    }

    /// <summary>A clock the test sets; delays are recorded and never complete.</summary>
    private sealed class StepClock : IClock
    {
        public long Now { get; set; }

        public List<long> Delays { get; } = [];

        public long MonotonicMicroseconds => Now;

        public long WallMicroseconds => Now;

        public Task DelayAsync(long delayMicroseconds, CancellationToken cancellationToken = default)
        {
            Delays.Add(delayMicroseconds);
            return new TaskCompletionSource().Task;
        }

        public IDisposable Schedule(long delayMicroseconds, Action callback) => throw new NotSupportedException();
    }
}
