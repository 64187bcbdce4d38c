using KeplerSim.Core.Runtime;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// Runs core's pure CPU work (hashing chunks) on the thread pool and completes the task on the node's loop, so
/// hashing uses the other cores while the loop keeps serving; the awaiting core code resumes on the loop.
/// </summary>
public sealed class ThreadPoolPureWork(EventLoop loop) : IPureWork
{
    /// <inheritdoc />
    public Task<T> RunAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return loop.RunIoAsync(() => Task.FromResult(work()));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Two pool threads: the first stage runs on the one that picks the work up, the second on a helper queued at
    /// the same time, which takes each piece as soon as the first stage hands it over (a decrypted segment is
    /// hashed while the next is decrypted). The first stage never waits for the second, so a busy pool cannot
    /// deadlock it: if no helper started by the time the first stage is done, that thread runs the second stage
    /// itself (the pieces then run one after the other, as without overlap).
    /// </remarks>
    public Task<bool> RunPipelineAsync(int stages, Func<int, bool> first, Action<int> second)
    {
        PureWorkPipeline.Check(stages, first, second);
        return stages < 2
            ? RunAsync(() => PureWorkPipeline.RunInterleaved(stages, first, second))
            : loop.RunIoAsync(() => new Pipeline(stages, first, second).RunAsync());
    }

    /// <summary>One overlapped run of a two-stage pipeline.</summary>
    private sealed class Pipeline(int stages, Func<int, bool> first, Action<int> second)
    {
        // One count per piece the first stage finished, plus one when the run stops early. Never disposed: no wait
        // handle is ever asked of it, so it holds nothing the collector cannot take.
        private readonly SemaphoreSlim _ready = new(0, int.MaxValue);
        private int _claimed;
        private volatile bool _stopped;

        public async Task<bool> RunAsync()
        {
            var helper = Task.Run(TryConsume);
            try
            {
                return Produce();
            }
            catch
            {
                Stop();
                throw;
            }
            finally
            {
                // The second stage ends before the caller may touch the pieces again: run it here if no helper
                // thread took it, else wait for the helper (which never waits on anything but this thread's work).
                if (Interlocked.Exchange(ref _claimed, 1) == 0)
                {
                    Consume();
                }
                else
                {
                    await helper.ConfigureAwait(false);
                }
            }
        }

        private bool Produce()
        {
            for (var piece = 0; piece < stages; piece++)
            {
                if (_stopped || !first(piece))
                {
                    Stop();
                    return false;
                }

                _ready.Release();
            }

            return true;
        }

        private void TryConsume()
        {
            if (Interlocked.Exchange(ref _claimed, 1) == 0)
            {
                Consume();
            }
        }

        private void Consume()
        {
            for (var piece = 0; piece < stages; piece++)
            {
                _ready.Wait();
                if (_stopped)
                {
                    return;
                }

                try
                {
                    second(piece);
                }
                catch
                {
                    Stop();
                    throw;
                }
            }
        }

        private void Stop()
        {
            _stopped = true;
            _ready.Release();
        }
    }
}
