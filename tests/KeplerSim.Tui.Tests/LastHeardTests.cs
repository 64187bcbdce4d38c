using System.Globalization;
using System.Reactive.Concurrency;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;

namespace KeplerSim.Tui.Tests;

/// <summary>
/// The members view's "last heard" for a real cluster: a member the monitor cannot reach itself shows when its
/// peers last heard from it (their SWIM records, <c>lastHeardSecondsAgo</c> in /api/members), the freshest of them;
/// before, it showed the last event that named the member, or nothing.
/// </summary>
[Trait("Category", "Fast")]
public sealed class LastHeardTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task An_unreachable_member_shows_when_its_peers_last_heard_from_it()
    {
        var nodes = new FakeNodes();
        nodes.Healthy("a", 1);
        nodes.Healthy("b", 2);
        Members(nodes, 1, 42.5);
        Members(nodes, 2, 7.25);
        nodes.Refuse("http://127.0.0.1:3003/");
        using var source = new HttpClusterSource(new Uri("http://127.0.0.1:3001/"), nodes,
            ImmediateScheduler.Instance, new FixedTime(Now));
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        await source.PollOnceAsync(CancellationToken.None);
        await source.PollOnceAsync(CancellationToken.None);

        var c = vm.State.Members.Single(m => m.Id == "c");
        Assert.StartsWith("unreachable:", c.Health, StringComparison.Ordinal);
        Assert.Equal(Clock(Now - TimeSpan.FromSeconds(7.25)), c.LastHeard);

        // A member the monitor reaches itself: its own answer, being the latest.
        Assert.Equal(Clock(Now), vm.State.Members.Single(m => m.Id == "a").LastHeard);
    }

    private static void Members(FakeNodes nodes, int n, double cAgo) =>
        nodes.Json($"http://127.0.0.1:300{n}/api/members", string.Create(CultureInfo.InvariantCulture, $$"""
            [{"id":"a","gossip":"127.0.0.1:4001","state":"alive","self":{{(n == 1 ? "true" : "false")}},
              "lastHeardSecondsAgo":{{(n == 1 ? "null" : "0.5")}}},
             {"id":"b","gossip":"127.0.0.1:4002","state":"alive","self":false,"lastHeardSecondsAgo":1.0},
             {"id":"c","gossip":"127.0.0.1:4003","state":"suspect","self":false,"lastHeardSecondsAgo":{{cAgo}}}]
            """));

    private static string Clock(DateTimeOffset at) =>
        at.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
