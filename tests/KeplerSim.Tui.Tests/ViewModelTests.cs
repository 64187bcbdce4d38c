using System.Reactive.Concurrency;
using KeplerSim.Tui.Model;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;

namespace KeplerSim.Tui.Tests;

[Trait("Category", "Fast")]
public sealed class ViewModelTests
{
    private static ClusterState ThreeNodes() => ClusterState.Empty with
    {
        Source = "scripted",
        Members =
        [
            new MemberRow("n1", "a:1", MemberState.Alive, 0, "", "ok"),
            new MemberRow("n2", "a:2", MemberState.Alive, 0, "", "ok"),
            new MemberRow("n3", "a:3", MemberState.Alive, 0, "", "ok"),
        ],
    };

    [Fact]
    public void Updates_wait_for_the_ui_scheduler_and_a_burst_is_applied_in_one_batch()
    {
        using var source = new ScriptedSource();
        var ui = new TickScheduler();
        using var vm = new MonitorViewModel(source, ui);
        var changes = 0;
        using var _ = vm.Changed.Subscribe(_ => changes++);
        source.Push(ThreeNodes());
        for (var i = 0; i < 50; i++)
        {
            source.Push(Ev.At(i, "n1", "chunk.replicated"));
        }

        Assert.Empty(vm.Log);               // nothing touched before the UI thread runs
        Assert.Equal(0, changes);
        ui.Start();
        Assert.Equal(50, vm.Log.Count);
        Assert.Equal(3, vm.State.Members.Count);
        Assert.Equal(1, changes);
    }

    [Fact]
    public void Log_is_bounded_and_the_filter_view_follows_new_events()
    {
        using var source = new ScriptedSource();
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        vm.SetFilter("kind:member");
        for (var i = 0; i < MonitorViewModel.LogMax + 10; i++)
        {
            source.Push(i % 2 == 0 ? Ev.At(i, "n1", "chunk.replicated") : Ev.Member(i, "member.alive", "n2", 0, "n1"));
        }

        Assert.Equal(MonitorViewModel.LogMax, vm.Log.Count);
        Assert.Equal(10, vm.Log.First().TimeMicroseconds / 1_000_000);
        Assert.Equal(MonitorViewModel.LogMax / 2, vm.FilteredLog.Count);
        Assert.All(vm.FilteredLog, e => Assert.Equal("member.alive", e.Kind));
        source.Push(Ev.Member(99_999, "member.dead", "n2", 0, "n1"));
        Assert.Equal("member.dead", vm.FilteredLog[^1].Kind);
    }

    [Fact]
    public void Commands_carry_the_selected_node_and_selection_stays_in_range()
    {
        using var source = new ScriptedSource(SourceKind.Simulation);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        source.Push(ThreeNodes());
        vm.Select(1);
        vm.Send(CommandKind.Crash);
        vm.Select(10);
        Assert.Equal("n3", vm.SelectedNode);
        source.Push(ThreeNodes() with { Members = ThreeNodes().Members.Take(1).ToList() });
        Assert.Equal("n1", vm.SelectedNode);
        vm.Send(CommandKind.Isolate);
        Assert.Equal([new SourceCommand(CommandKind.Crash, "n2"), new SourceCommand(CommandKind.Isolate, "n1")],
            source.Commands);
    }

    [Fact]
    public void A_state_with_a_log_replaces_the_log()
    {
        using var source = new ScriptedSource(SourceKind.Replay);
        using var vm = new MonitorViewModel(source, ImmediateScheduler.Instance);
        source.Push(Ev.At(1, "n1", "chunk.replicated"));
        source.Push(ThreeNodes() with { Log = [Ev.At(7, "n2", "write.ack")] });
        Assert.Equal("write.ack", Assert.Single(vm.Log).Kind);
    }
}
