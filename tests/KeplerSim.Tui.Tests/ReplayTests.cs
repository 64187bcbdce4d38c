using System.Reactive.Concurrency;
using System.Text;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tui.Model;
using KeplerSim.Tui.Sources;
using Terminal.Gui.Input;

namespace KeplerSim.Tui.Tests;

/// <summary>Replays of a real trace: the slider rebuilds the cluster as it was at any time.</summary>
[Trait("Category", "Fast")]
public sealed class ReplayTests
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<string>> Traces = new();

    /// <summary>The scenario's trace, run once per test run (each run takes seconds).</summary>
    private static string Trace(string file) => Traces.GetOrAdd(file, f => new Lazy<string>(() => Run(f))).Value;

    private static string Run(string file)
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(file));
        using var trace = new MemoryStream();
        ScenarioRunner.Run(scenario, scenario.Seed, trace);
        return Encoding.UTF8.GetString(trace.ToArray());
    }

    private static ReplaySource Replay(string text, IScheduler? scheduler = null)
    {
        var (events, bad) = ReplaySource.Read(new StringReader(text));
        return new ReplaySource("test", events, bad, scheduler ?? ImmediateScheduler.Instance);
    }

    [Fact]
    public void Seeking_a_split_brain_trace_shows_the_partition_only_between_split_and_heal()
    {
        using var replay = Replay(Trace("fast/split-brain.yaml"));  // partition at 3 s, heal at 10 s
        Assert.Equal(["n1", "n2", "n3", "n4", "n5"], replay.Fold(2_000_000).Members.Select(m => m.Id));
        Assert.Null(replay.Fold(2_999_000).Partition);
        Assert.Equal("n1,n2 | n3,n4,n5", replay.Fold(3_000_000).Partition);
        Assert.Equal("n1,n2 | n3,n4,n5", replay.Fold(9_999_000).Partition);
        Assert.Null(replay.Fold(10_000_000).Partition);
        var early = replay.Fold(3_500_000);
        Assert.All(early.Members, m => Assert.Equal(MemberState.Alive, m.State));
        Assert.Contains(early.Log!, e => e.Kind == "partition");
        Assert.DoesNotContain(early.Log!, e => e.TimeMicroseconds > 3_500_000);
        Assert.Equal(5, early.Ring.Count);
        Assert.InRange(early.Ring.Sum(r => r.Share), 2.99, 3.01);   // N = 3 over five nodes
    }

    [Fact]
    public void A_stopped_node_is_down_after_its_stop_and_up_before()
    {
        using var replay = Replay(Trace("fast/node-failure.yaml"));  // n3 stops at 5 s
        Assert.Equal(MemberState.Alive, replay.Fold(4_900_000).Members.Single(m => m.Id == "n3").State);
        // A stop is a graceful leave: its peers mark n3 left at once, and its process ends once it has handed its
        // chunks off (at 5.3 s in this run).
        Assert.Equal(MemberState.Left, replay.Fold(5_100_000).Members.Single(m => m.Id == "n3").State);
        var stopped = replay.Fold(6_000_000).Members.Single(m => m.Id == "n3");
        Assert.Equal((MemberState.Left, "down"), (stopped.State, stopped.Health));
        Assert.Equal("running", replay.Fold(5_100_000).Members.Single(m => m.Id == "n1").Health);
        Assert.True(replay.Fold(4_000_000).Replication.FileCount > 0);
    }

    [Fact]
    public void Garbage_lines_are_skipped_and_counted()
    {
        var text = Trace("fast/split-brain.yaml").Split('\n').Take(2000).ToList();
        text.Insert(10, "{not json");
        text.Insert(20, """{"t":"soon","node":"n1","kind":"NodeStarted"}""");
        text.Insert(30, """{"t":5,"node":"n1","kind":"NoSuchKind"}""");
        text.Insert(40, """[1,2,3]""");
        text.Insert(45, """{"t":5,"node":"n1","kind":"5"}""");              // a number is not a kind name
        text.Insert(46, """{"t":5,"node":7,"kind":"NodeStarted"}""");
        text.Insert(50, new string('x', ReplaySource.LineCharsMax + 1));
        using var replay = Replay(string.Join('\n', text));
        // Regression: a string where a number belongs threw InvalidOperationException out of the reader.
        Assert.Equal(7, replay.BadLines);
        using var tui = new Headless(replay);
        Assert.Contains("7 bad trace line(s) skipped", tui.Screen());
    }

    [Fact]
    public void Play_advances_the_slider_on_the_scheduler_and_stops_at_the_end()
    {
        var ticks = new TickScheduler();
        using var replay = Replay(Trace("fast/split-brain.yaml"), ticks);
        using var vm = new ViewModel.MonitorViewModel(replay, ImmediateScheduler.Instance);
        vm.Start();
        vm.Send(CommandKind.TogglePlay);
        Assert.Equal(PlayState.Playing, vm.State.Play);
        ticks.AdvanceBy(SimulationHost.Tick.Ticks * 10);              // ten ticks at x1: one virtual second
        Assert.Equal(1_000_000, vm.State.TimeMicroseconds);
        vm.Send(CommandKind.Faster);
        ticks.AdvanceBy(SimulationHost.Tick.Ticks * 10_000);
        Assert.Equal(replay.End, vm.State.TimeMicroseconds);
        Assert.Equal(PlayState.Paused, vm.State.Play);
    }

    [Fact]
    public void Slider_keys_move_time()
    {
        using var replay = Replay(Trace("fast/split-brain.yaml"));
        using var tui = new Headless(replay);
        tui.Key(new Key('>'));
        Assert.Equal(10_000_000, replay.Now);
        tui.Key(Key.CursorLeft);
        Assert.Equal(9_000_000, replay.Now);
        tui.Key(new Key('.'));
        Assert.Equal(9_100_000, replay.Now);
        Assert.Contains("t=9.100s/", tui.Screen());
        Assert.Contains("PARTITION n1,n2 | n3,n4,n5", tui.Screen());
        tui.Key(Key.End);
        Assert.Equal(replay.End, replay.Now);
    }
}
