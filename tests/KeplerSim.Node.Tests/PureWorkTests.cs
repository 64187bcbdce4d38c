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

    [Fact]
    public async Task A_pipeline_runs_each_stage_on_one_thread_and_every_second_stage_in_order_after_its_first()
    {
        using var loop = new EventLoop("pipeline");
        var work = new ThreadPoolPureWork(loop);
        const int stages = 200;
        var done = new int[stages];
        var order = new List<int>();
        var firstThreads = new HashSet<int>();
        var secondThreads = new HashSet<int>();
        var ok = await loop.InvokeAsync(async () =>
        {
            var result = await work.RunPipelineAsync(stages,
                piece =>
                {
                    firstThreads.Add(Environment.CurrentManagedThreadId);
                    Volatile.Write(ref done[piece], 1);
                    return true;
                },
                piece =>
                {
                    secondThreads.Add(Environment.CurrentManagedThreadId);
                    Assert.Equal(1, Volatile.Read(ref done[piece]));
                    order.Add(piece);
                });
            loop.AssertOnLoop("the continuation after a pipeline");
            return result;
        });
        Assert.True(ok);
        Assert.Equal(Enumerable.Range(0, stages), order);
        Assert.Single(firstThreads);
        Assert.Single(secondThreads);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(57)]
    [InlineData(99)]
    public async Task A_pipeline_stops_at_the_first_piece_that_fails_and_runs_no_later_piece(int failing)
    {
        using var loop = new EventLoop("pipeline-stop");
        var work = new ThreadPoolPureWork(loop);
        var firsts = 0;
        var seconds = new List<int>();
        var ok = await loop.InvokeAsync(() => work.RunPipelineAsync(100,
            piece =>
            {
                Interlocked.Increment(ref firsts);
                return piece != failing;
            },
            seconds.Add));
        Assert.False(ok);
        Assert.Equal(failing + 1, firsts);
        Assert.All(seconds, piece => Assert.True(piece < failing, $"piece {piece} ran after {failing} failed"));
    }

    [Fact]
    public async Task A_failure_in_either_stage_of_a_pipeline_reaches_the_caller_on_the_loop()
    {
        using var loop = new EventLoop("pipeline-fail");
        var work = new ThreadPoolPureWork(loop);
        foreach (var (stage, expected) in new[] { ("first", "first broke"), ("second", "second broke") })
        {
            var error = await loop.InvokeAsync(async () =>
            {
                try
                {
                    await work.RunPipelineAsync(10,
                        piece => piece != 5 || stage != "first" ? true : throw new InvalidDataException("first broke"),
                        piece =>
                        {
                            if (piece == 5 && stage == "second")
                            {
                                throw new InvalidDataException("second broke");
                            }
                        });
                    return "no exception";
                }
                catch (InvalidDataException e)
                {
                    loop.AssertOnLoop("the catch after a failed pipeline");
                    return e.Message;
                }
            });
            Assert.Equal(expected, error);
        }
    }
}
