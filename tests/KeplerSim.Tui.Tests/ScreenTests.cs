using System.Reactive.Concurrency;
using KeplerSim.Tui.Model;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.Views;
using Terminal.Gui.App;
using Terminal.Gui.Drivers;
using Terminal.Gui.Input;
using Terminal.Gui.Testing;
using Terminal.Gui.Time;

namespace KeplerSim.Tui.Tests;

/// <summary>
/// The real window, headless (ANSI driver, virtual time), fed a scripted event stream through the replay
/// source; keys move the time slider and the screen is read back as text.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ScreenTests
{
    private static readonly (string, string)[] Progress40 =
        [("chunksLeft", "40"), ("bytesLeft", "2621440"), ("chunksPerSecond", "8"), ("etaMicroseconds", "5000000")];

    /// <summary>Three nodes; n3 goes suspect at 2 s and dead at 4 s; a partition at 5 s; repair from 6 s.</summary>
    private static List<MonitorEvent> Script() =>
    [
        Ev.At(0, "n1", "node.started"), Ev.At(0, "n2", "node.started"), Ev.At(0, "n3", "node.started"),
        Ev.Member(0.5, "member.alive", "n3", 0, "n1"),
        Ev.Member(2, "member.suspect", "n3", 0, "n1"),
        Ev.Member(4, "member.dead", "n3", 0, "n2"),
        Ev.At(5, "-", "partition", ("text", "n1,n2 | n3")) with { Text = "n1,n2 | n3" },
        Ev.At(6, "n1", "replication.progress", Progress40),
        Ev.At(7, "n1", "replication.progress", ("chunksLeft", "10"), ("bytesLeft", "655360"),
            ("chunksPerSecond", "8"), ("etaMicroseconds", "1500000")),
        Ev.At(8, "-", "partition.heal"),
        Ev.At(9, "n1", "replication.progress", ("chunksLeft", "0"), ("bytesLeft", "0"),
            ("chunksPerSecond", "0"), ("etaMicroseconds", "0")),
    ];

    private static string StateOf(Headless tui, string node) =>
        tui.LineWith($"│{node} ").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];

    [Fact]
    public void Screen_shows_a_node_going_suspect_then_dead_a_partition_and_repair_progress()
    {
        using var replay = new ReplaySource("scripted", Script(), 0, ImmediateScheduler.Instance);
        using var tui = new Headless(replay);
        Assert.Equal("alive", StateOf(tui, "n3"));
        Assert.Contains("t=0.000s/9.000s", tui.Screen());

        tui.Key(Key.CursorRight);
        tui.Key(Key.CursorRight);                                  // t = 2 s
        Assert.Equal("suspect", StateOf(tui, "n3"));
        Assert.Equal("alive", StateOf(tui, "n1"));

        tui.Key(Key.CursorRight);
        tui.Key(Key.CursorRight);                                  // t = 4 s
        Assert.Equal("dead", StateOf(tui, "n3"));
        Assert.DoesNotContain("PARTITION", tui.Screen());

        tui.Key(Key.CursorRight);                                  // t = 5 s
        Assert.Contains("PARTITION n1,n2 | n3", tui.LineWith("PARTITION"));

        tui.Key(Key.CursorRight);                                  // t = 6 s
        Assert.Contains("repair: 40 chunks left (2.5 MiB) 8.0/s ETA 5.0s", tui.Screen());
        tui.Key(Key.CursorRight);                                  // t = 7 s
        tui.Key(new Key('3'));
        Assert.Contains("repair: 10 chunks left (640.0 KiB) 8.0/s ETA 1.5s", tui.LineWith("│repair: 10"));
        Assert.Contains("n1", tui.LineWith("      10 "));            // queue depth per node

        tui.Key(Key.End);                                          // t = 9 s: healed, drained
        Assert.DoesNotContain("PARTITION", tui.Screen());
        Assert.Contains("repair: idle", tui.Screen());

        tui.Key(Key.Home);                                         // back in time
        tui.Key(new Key('1'));
        Assert.Equal("alive", StateOf(tui, "n3"));
    }

    [Fact]
    public void Event_log_filters_by_kind_and_by_the_selected_node()
    {
        using var replay = new ReplaySource("scripted", Script(), 0, ImmediateScheduler.Instance);
        using var tui = new Headless(replay);
        tui.Key(Key.End);
        tui.Key(new Key('4'));
        Assert.Contains("all events (11 of 11)", tui.Screen());
        tui.Type("/kind:member");
        Assert.Contains("/ filter: kind:member_", tui.Screen());
        tui.Key(Key.Enter);
        var screen = tui.Screen();
        Assert.Contains("filter: kind:member (3 of 11)", screen);
        Assert.Contains("member.dead", screen);
        Assert.DoesNotContain("replication.progress", screen);

        tui.Key(new Key('1'));
        tui.Key(Key.CursorDown);                                   // select n2
        tui.Key(new Key('n'));
        tui.Key(new Key('4'));
        Assert.Contains("filter: node:n2 (2 of 11)", tui.Screen());
    }

    [Fact]
    public void Every_line_fits_80_by_24_and_the_help_bar_is_whole()
    {
        using var source = new ScriptedSource(SourceKind.Simulation);
        using var tui = new Headless(source);
        source.Push(ClusterState.Empty with
        {
            Source = "sim " + new string('x', 200),
            TimeMicroseconds = 3_000_000,
            EndMicroseconds = 20_000_000,
            Play = PlayState.Paused,
            Partition = string.Join(",", Enumerable.Range(0, 60).Select(i => "n" + i)),
            Members = Enumerable.Range(0, 40).Select(i => new MemberRow($"node-{i}-{new string('y', 30)}",
                "\u0007\u001b[31m" + new string('z', 100), MemberState.Suspect, long.MaxValue, "?", "\t\r")).ToList(),
        });
        var lines = tui.Screen().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(24, lines.Length);
        Assert.All(lines, l => Assert.True(l.TrimEnd('\r').Length <= 80, $"line wider than 80: {l}"));
        Assert.Contains("p cut h heal", tui.Screen());
        Assert.Contains("PARTITION n0,n1", tui.Screen());
    }

    [Fact]
    public void Wider_terminal_gets_the_long_help_bar()
    {
        using var source = new ScriptedSource(SourceKind.Simulation);
        using var tui = new Headless(source, 140, 40);
        Assert.Contains("space play/pause", tui.Screen());
    }

    [Fact]
    public void Q_quits()
    {
        using var source = new ScriptedSource();
        using var app = Application.Create(new VirtualTimeProvider());
        app.Init(DriverRegistry.Names.ANSI);
        using var vm = new KeplerSim.Tui.ViewModel.MonitorViewModel(source, new UiScheduler(app));
        using var window = new MainWindow(vm);
        app.AddTimeout(TimeSpan.Zero, () =>
        {
            vm.Start();
            app.InjectKey(new Key('q'));
            return false;
        });
        // Bounded: if q ever stops working, a real-time watchdog stops the loop and the test fails saying so.
        var watchdogFired = false;
        using var watchdog = new System.Threading.Timer(
            _ => app.Invoke(() =>
            {
                watchdogFired = true;
                app.RequestStop();
            }),
            null, TimeSpan.FromSeconds(30), System.Threading.Timeout.InfiniteTimeSpan);
        app.Run(window);
        Assert.False(watchdogFired, "q did not stop the application within 30 s");
        Assert.True(source.Started);
    }
}
