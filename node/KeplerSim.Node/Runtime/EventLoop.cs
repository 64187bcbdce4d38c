using System.Collections.Concurrent;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// The node's single logical thread: one dedicated thread draining a queue of work items under its own
/// <see cref="SynchronizationContext"/>. Core runs only here; I/O completes on other threads and is posted back,
/// so core needs no locks (the real-node counterpart of the simulator's per-node context).
/// </summary>
public sealed class EventLoop : IDisposable
{
    /// <summary>Work items waiting at most; posting beyond blocks the poster (bounded like every queue).</summary>
    public const int QueueDepthMax = 1 << 20;

    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue =
        new(new ConcurrentQueue<(SendOrPostCallback, object?)>(), QueueDepthMax);
    private readonly Thread _thread;
    private readonly LoopContext _context;
    private long _errors;

    /// <summary>Starts the loop thread.</summary>
    public EventLoop(string name, Action<Exception>? onError = null)
    {
        _context = new LoopContext(this);
        OnError = onError;
        _thread = new Thread(Run) { IsBackground = true, Name = "loop:" + name };
        _thread.Start();
    }

    /// <summary>Called (on the loop) with an exception a work item let escape.</summary>
    public Action<Exception>? OnError { get; set; }

    /// <summary>Work items that threw (a core bug or an async void failure).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Work items waiting.</summary>
    public int QueueDepth => _queue.Count;

    /// <summary>Whether the caller runs on the loop thread.</summary>
    public bool IsOnLoop => Environment.CurrentManagedThreadId == _thread.ManagedThreadId;

    /// <summary>The loop's synchronization context (continuations awaited on the loop come back here).</summary>
    public SynchronizationContext Context => _context;

    /// <summary>Fails loudly when called off the loop thread: every callback into core must run on it.</summary>
    public void AssertOnLoop(string what)
    {
        if (!IsOnLoop)
        {
            throw new InvalidOperationException(
                $"{what} ran on thread {Environment.CurrentManagedThreadId}, not on the node's loop thread");
        }
    }

    /// <summary>Queues <paramref name="action"/> to run on the loop. Dropped silently after disposal.</summary>
    public void Post(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Post(static state => ((Action)state!)(), action);
    }

    /// <summary>Queues a callback to run on the loop.</summary>
    public void Post(SendOrPostCallback callback, object? state)
    {
        try
        {
            _queue.Add((callback, state));
        }
        catch (InvalidOperationException)
        {
            // The loop is shutting down: like a killed process, nothing more runs.
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the loop and completes (off the loop) with its result. Used by the HTTP
    /// gateway to call core.
    /// </summary>
    public Task<T> InvokeAsync<T>(Func<Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(async () =>
        {
            try
            {
                result.TrySetResult(await work());
            }
            catch (OperationCanceledException e)
            {
                result.TrySetCanceled(e.CancellationToken);
            }
            catch (Exception e)
            {
                result.TrySetException(e);
            }
        });
        return result.Task;
    }

    /// <summary>Runs a synchronous function on the loop and completes with its result.</summary>
    public Task<T> InvokeAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        return InvokeAsync(() => Task.FromResult(work()));
    }

    /// <summary>
    /// Runs blocking or asynchronous I/O on the thread pool and completes the returned task on the loop, so the
    /// awaiting core continuation runs inline on the loop thread (as the simulator completes seam tasks).
    /// </summary>
    public Task<T> RunIoAsync<T>(Func<Task<T>> io)
    {
        ArgumentNullException.ThrowIfNull(io);
        var result = new TaskCompletionSource<T>();
        Task.Run(io).ContinueWith(
            (done, state) => ((EventLoop)state!).Post(() => CopyOutcome(done, result)),
            this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return result.Task;
    }

    /// <summary>As <see cref="RunIoAsync{T}(Func{Task{T}})"/> for I/O without a result.</summary>
    public Task RunIoAsync(Func<Task> io)
    {
        ArgumentNullException.ThrowIfNull(io);
        return RunIoAsync(async () =>
        {
            await io().ConfigureAwait(false);
            return true;
        });
    }

    private static void CopyOutcome<T>(Task<T> done, TaskCompletionSource<T> target)
    {
        if (done.IsCanceled)
        {
            target.TrySetCanceled();
        }
        else if (done.IsFaulted)
        {
            target.TrySetException(done.Exception!.InnerExceptions);
        }
        else
        {
            target.TrySetResult(done.Result);
        }
    }

    /// <summary>Stops taking work; the loop thread ends after the queue drains.</summary>
    public void Dispose() => _queue.CompleteAdding();

    private void Run()
    {
        SynchronizationContext.SetSynchronizationContext(_context);
        foreach (var (callback, state) in _queue.GetConsumingEnumerable())
        {
            try
            {
                callback(state);
            }
            catch (Exception e)
            {
                Interlocked.Increment(ref _errors);
                try
                {
                    OnError?.Invoke(e);
                }
                catch (Exception)
                {
                    // A failing error handler must not stop the loop.
                }
            }
        }
    }

    private sealed class LoopContext(EventLoop loop) : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) => loop.Post(d, state);

        public override void Send(SendOrPostCallback d, object? state)
        {
            if (loop.IsOnLoop)
            {
                d(state);
                return;
            }

            loop.InvokeAsync(() =>
            {
                d(state);
                return true;
            }).GetAwaiter().GetResult();
        }

        public override SynchronizationContext CreateCopy() => this;
    }
}
