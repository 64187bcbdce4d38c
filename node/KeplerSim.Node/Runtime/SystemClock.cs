using System.Diagnostics;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// The real clock: monotonic time from <see cref="Stopwatch"/>, wall time from the system clock. Timers fire on
/// a thread-pool timer and post their callback to the node's loop. A <see cref="TestClock"/> (test only) offsets
/// and drifts both.
/// </summary>
public sealed class SystemClock(EventLoop loop, TimeProvider? time = null, TestClock? test = null) : IClock
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly long _origin = Stopwatch.GetTimestamp();

    /// <inheritdoc />
    public long MonotonicMicroseconds => test?.MonotonicMicroseconds
        ?? (long)((Stopwatch.GetTimestamp() - _origin) * (1_000_000.0 / Stopwatch.Frequency));

    /// <inheritdoc />
    public long WallMicroseconds => test is { } t ? t.Wall(HostWallMicroseconds) : HostWallMicroseconds;

    private long HostWallMicroseconds => (_time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    /// <inheritdoc />
    public Task DelayAsync(long delayMicroseconds, CancellationToken cancellationToken = default)
    {
        var source = new TaskCompletionSource();
        var timer = Schedule(delayMicroseconds, () => source.TrySetResult());
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                timer.Dispose();
                if (loop.IsOnLoop)
                {
                    source.TrySetCanceled(cancellationToken);
                }
                else
                {
                    loop.Post(() => source.TrySetCanceled(cancellationToken));
                }
            });
        }

        return source.Task;
    }

    /// <inheritdoc />
    public IDisposable Schedule(long delayMicroseconds, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var scheduled = new ScheduledTimer(loop, callback);
        var due = TimeSpan.FromTicks(Math.Max(0, test?.HostDelay(delayMicroseconds) ?? delayMicroseconds) * 10);
        scheduled.Start(_time, due);
        return scheduled;
    }

    private sealed class ScheduledTimer(EventLoop loop, Action callback) : IDisposable
    {
        private ITimer? _timer;
        private volatile bool _cancelled;

        public void Start(TimeProvider time, TimeSpan due) =>
            _timer = time.CreateTimer(static state => ((ScheduledTimer)state!).Fire(), this, due,
                Timeout.InfiniteTimeSpan);

        private void Fire() => loop.Post(() =>
        {
            // Checked on the loop: a timer disposed by core after it fired but before this ran must not run.
            if (!_cancelled)
            {
                loop.AssertOnLoop("timer callback");
                _timer?.Dispose();
                callback();
            }
        });

        public void Dispose()
        {
            _cancelled = true;
            _timer?.Dispose();
        }
    }
}
