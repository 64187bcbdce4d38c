using KeplerSim.Core.Storage;
using KeplerSim.Node.Runtime;

namespace KeplerSim.Node.Tests;

/// <summary>The real node runs core's pure work (hashing) off its loop and resumes core on the loop.</summary>
[Trait("Category", "Real")]
public sealed class PureWorkTests
{
    [Fact]
    public async Task Pure_work_runs_off_the_loop_and_its_caller_resumes_on_the_loop()
    {
        using var loop = new EventLoop("pure");
        var work = new ThreadPoolPureWork(loop);
        var data = new byte[1 << 20];
        Random.Shared.NextBytes(data);
        var (workThread, loopThread, id) = await loop.InvokeAsync(async () =>
        {
            var loopThread = Environment.CurrentManagedThreadId;
            var (thread, hash) = await work.RunAsync(() => (Environment.CurrentManagedThreadId, ChunkStore.IdOf(data)));
            loop.AssertOnLoop("the continuation after pure work");
            return (thread, loopThread, hash);
        });
        Assert.NotEqual(loopThread, workThread);
        Assert.Equal(ChunkStore.IdOf(data), id);
    }

    [Fact]
    public async Task A_failure_in_pure_work_reaches_the_caller_on_the_loop()
    {
        using var loop = new EventLoop("pure-fail");
        var work = new ThreadPoolPureWork(loop);
        var error = await loop.InvokeAsync(async () =>
        {
            try
            {
                await work.RunAsync<int>(() => throw new InvalidDataException("bad bytes"));
                return "no exception";
            }
            catch (InvalidDataException e)
            {
                loop.AssertOnLoop("the catch after failed pure work");
                return e.Message;
            }
        });
        Assert.Equal("bad bytes", error);
    }
}
