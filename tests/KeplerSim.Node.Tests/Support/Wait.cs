using System.Diagnostics;

namespace KeplerSim.Node.Tests.Support;

/// <summary>Bounded waiting on an explicit condition (tests never sleep).</summary>
public static class Wait
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes; then fails with a
    /// message saying what was awaited.
    /// </summary>
    public static async Task WaitUntil(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                last = e;
            }

            await Task.Delay(PollInterval);
        }

        Assert.Fail($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}" +
            (last is null ? "" : $" (last error: {last.Message})"));
    }

    /// <summary>As <see cref="WaitUntil(Func{Task{bool}}, TimeSpan, string)"/> for a synchronous condition.</summary>
    public static Task WaitUntil(Func<bool> condition, TimeSpan timeout, string what) =>
        WaitUntil(() => Task.FromResult(condition()), timeout, what);
}
