using System.Globalization;
using KeplerSim.Tui.Model;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;
using Terminal.Gui.Drawing;

namespace KeplerSim.Tui.Views;

/// <summary>The pages the number keys switch between.</summary>
public enum Page
{
    /// <summary>Members with their states.</summary>
    Members = 1,
    /// <summary>Ring shares and stored data.</summary>
    Ring = 2,
    /// <summary>Files, replicas, queues, repair.</summary>
    Files = 3,
    /// <summary>The event log.</summary>
    Events = 4,
    /// <summary>The selected node in detail.</summary>
    Node = 5,
}

/// <summary>Builds each page and the status lines as styled text from the view model.</summary>
public static class Pages
{
    private const int IdWidth = 10;
    private const int StateWidth = 8;
    private const int IncarnationWidth = 4;
    private const int AddressWidth = 15;
    private const int HeardWidth = 8;
    private const int BarWidth = 20;

    /// <summary>The tab line: the current page in brackets.</summary>
    public static string Tabs(Page current) => string.Join(" ", Enum.GetValues<Page>()
        .Select(p => p == current ? $"[{(int)p} {p}]" : $" {(int)p} {p} "));

    /// <summary>The first status line: source, time, play state.</summary>
    public static string Header(MonitorViewModel vm, int width)
    {
        var s = vm.State;
        var text = s.Source;
        if (s.TimeMicroseconds is { } t)
        {
            text += $"  t={MonitorEvent.Seconds(t)}";
            if (s.EndMicroseconds is { } end and > 0)
            {
                text += $"/{MonitorEvent.Seconds(end)} [{Format.Bar((double)t / end, 12)}]";
            }
        }

        text += s.Play switch
        {
            PlayState.Playing => string.Create(CultureInfo.InvariantCulture, $"  PLAYING x{s.Speed}"),
            PlayState.Paused => string.Create(CultureInfo.InvariantCulture, $"  PAUSED x{s.Speed}"),
            _ => "  LIVE",
        };
        return Format.Fit(text, width);
    }

    /// <summary>The second status line: partition, repair, note.</summary>
    public static StyledLine Situation(MonitorViewModel vm)
    {
        var s = vm.State;
        var segments = new List<Segment>();
        if (s.Partition is { } partition)
        {
            segments.Add(new Segment($"PARTITION {partition}  ", ColorName16.BrightMagenta));
        }

        segments.Add(new Segment(Format.Progress(s.Replication.Progress)));
        if (s.Status is { } status)
        {
            segments.Add(new Segment("  " + status, ColorName16.BrightYellow));
        }

        return new StyledLine(segments);
    }

    /// <summary>The help bar for the source's kind: the long form if it fits, else the compact one.</summary>
    public static string Help(SourceKind kind, int width)
    {
        var (full, compact) = kind switch
        {
            SourceKind.Simulation => (
                "q quit  1-5 page  ↑↓ node  space play/pause  . step  +/- speed  c crash  r restart  p partition  " +
                "h heal  / filter  n node's events",
                "q quit /filter 1-5 pg ↑↓ spc play .step +-spd c crash r restart p cut h heal"),
            SourceKind.Replay => (
                "q quit  1-5 page  ↑↓ node  space play/pause  . step  ←→ 1s  <> 10s  Home/End  +/- speed  / filter  " +
                "n node's events",
                "q quit /filter 1-5 pg ↑↓ spc play .step ←→ 1s <> 10s Home/End +-spd n node"),
            _ => (
                "q quit  1-5 page  ↑↓ node  / filter  n node's events  PgUp/PgDn scroll events",
                "q quit  1-5 page  ↑↓ node  / filter  n node's events  PgUp/PgDn scroll"),
        };
        return full.Length <= width ? full : compact;
    }

    /// <summary>The lines of <paramref name="page"/>.</summary>
    public static List<StyledLine> Build(Page page, MonitorViewModel vm, int height) => page switch
    {
        Page.Members => Members(vm),
        Page.Ring => Ring(vm),
        Page.Files => Files(vm),
        Page.Events => Events(vm, height),
        _ => Node(vm),
    };

    private static List<StyledLine> Members(MonitorViewModel vm)
    {
        var lines = new List<StyledLine>
        {
            StyledLine.Plain($"{"NODE",-IdWidth} {"STATE",-StateWidth} {"INC",IncarnationWidth} " +
                $"{"ADDRESS",-AddressWidth} {"HEARD",-HeardWidth} HEALTH"),
        };
        var members = vm.State.Members;
        for (var i = 0; i < members.Count; i++)
        {
            var m = members[i];
            lines.Add(new StyledLine(
            [
                new Segment(Format.Fit(m.Id, IdWidth) + " "),
                new Segment(Format.Fit(Format.Name(m.State), StateWidth), Format.Color(m.State)),
                new Segment(string.Create(CultureInfo.InvariantCulture,
                    $" {m.Incarnation,IncarnationWidth} {Format.Fit(m.Address, AddressWidth)} ") +
                    $"{Format.Fit(m.LastHeard, HeardWidth)} {m.Health}"),
            ], Selected: i == vm.SelectedIndex));
        }

        if (members.Count == 0)
        {
            lines.Add(StyledLine.Plain("(no members yet)"));
        }

        return lines;
    }

    private static List<StyledLine> Ring(MonitorViewModel vm)
    {
        var ring = vm.State.Ring;
        var totalBytes = ring.Sum(r => r.StoredBytes ?? 0);
        var totalChunks = ring.Sum(r => r.StoredChunks ?? 0);
        var lines = new List<StyledLine>
        {
            StyledLine.Plain($"{"NODE",-IdWidth} {"RING SHARE",-28} {"CHUNKS",7} {"BYTES",10} STORED SHARE"),
        };
        for (var i = 0; i < ring.Count; i++)
        {
            var r = ring[i];
            double? stored = totalBytes > 0 && r.StoredBytes is { } b ? (double)b / totalBytes
                : totalChunks > 0 && r.StoredChunks is { } c ? (double)c / totalChunks : null;
            lines.Add(new StyledLine(
            [
                new Segment(string.Create(CultureInfo.InvariantCulture,
                    $"{Format.Fit(r.Id, IdWidth)} {Format.Percent(r.Share)} {Format.Bar(r.Share, BarWidth)} ") +
                    $"{r.StoredChunks?.ToString(CultureInfo.InvariantCulture) ?? "n/a",7} " +
                    $"{Format.Bytes(r.StoredBytes),10} {(stored is { } f ? Format.Percent(f) : "n/a")}"),
            ], Selected: r.Id == vm.SelectedNode));
        }

        if (ring.Count == 0)
        {
            lines.Add(StyledLine.Plain("(no ring yet)"));
        }

        lines.Add(StyledLine.Plain(""));
        lines.Add(StyledLine.Plain("Ring share: fraction of keys the node holds a replica of (sums to N)."));
        return lines;
    }

    /// <summary>
    /// Target against actual: N, where the factor comes from, and whether every referenced chunk has exactly N
    /// copies (green), some fewer (red: under-replicated) or some more (yellow: surplus copies not trimmed yet,
    /// after the factor was lowered or a node rejoined).
    /// </summary>
    private static StyledLine TargetLine(ReplicationSummary r)
    {
        if (r.TargetCopies is not { } target)
        {
            return StyledLine.Plain("replication target: n/a" + (r.FactorSource is { } s ? $" ({s})" : ""));
        }

        var byCopies = r.ChunksByReplicas ?? [];
        var fewer = byCopies.Where(c => c.Replicas < target).Sum(c => c.Chunks);
        var more = byCopies.Where(c => c.Replicas > target).Sum(c => c.Chunks);
        var actual = r.ChunksByReplicas is null ? "actual: n/a"
            : fewer > 0 ? $"actual: {fewer} chunk(s) below {target}"
            : more > 0 ? $"actual: {more} chunk(s) above {target} (surplus not trimmed yet)"
            : $"actual: every chunk at {target}";
        var color = r.ChunksByReplicas is null ? (ColorName16?)null
            : fewer > 0 ? ColorName16.BrightRed : more > 0 ? ColorName16.BrightYellow : ColorName16.BrightGreen;
        return new StyledLine([new Segment($"replication target: {target} copies ({r.FactorSource ?? "factor n/a"})" +
            $" - {actual}", color)]);
    }

    private static List<StyledLine> Files(MonitorViewModel vm)
    {
        var r = vm.State.Replication;
        var lines = new List<StyledLine>
        {
            StyledLine.Plain($"files: {r.FileCount?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}" +
                $"{(r.FileCountIsLowerBound ? "+" : "")}   " +
                "chunks by copies: " + (r.ChunksByReplicas is { } byCopies
                    ? byCopies.Count == 0
                        ? "none"
                        : string.Join("  ", byCopies.Select(c => $"{c.Replicas}x:{c.Chunks}"))
                    : "n/a (no node reported yet)")),
            TargetLine(r),
            new([new Segment(Format.Progress(r.Progress), r.Progress is { ChunksLeft: > 0 }
                ? ColorName16.BrightYellow : null)]),
            StyledLine.Plain("queue depth per node:"),
        };
        var deepest = Math.Max(1, r.QueueDepths.Max(q => q.Depth ?? 0L));
        foreach (var (node, depth) in r.QueueDepths)
        {
            lines.Add(StyledLine.Plain(string.Create(CultureInfo.InvariantCulture,
                $"  {Format.Fit(node, IdWidth)} {depth?.ToString(CultureInfo.InvariantCulture) ?? "n/a",7} ") +
                Format.Bar((double)(depth ?? 0) / deepest, BarWidth)));
        }

        lines.Add(r.UnderReplicatedCount is { } under
            ? new StyledLine([new Segment($"under-replicated chunks: {under}", under > 0 ? ColorName16.BrightRed
                : ColorName16.BrightGreen)])
            : StyledLine.Plain("under-replicated chunks: n/a"));
        var list = r.UnderReplicated ?? [];
        for (var i = 0; i < list.Count; i += 3)
        {
            lines.Add(StyledLine.Plain("  " + string.Join("  ", list.Skip(i).Take(3).Select(x => Format.Fit(x, 22)))));
        }

        return lines;
    }

    private static List<StyledLine> Events(MonitorViewModel vm, int height)
    {
        var events = vm.FilteredLog;
        var lines = new List<StyledLine>
        {
            StyledLine.Plain((vm.Filter.IsEmpty ? "all events" : $"filter: {vm.Filter.Text}") +
                $" ({events.Count} of {vm.Log.Count})" + (vm.Dropped > 0 ? $", {vm.Dropped} dropped" : "")),
        };
        lines.AddRange(events.Select(Event));
        return lines;
    }

    /// <summary>One event as a log line.</summary>
    public static StyledLine Event(MonitorEvent e) => new(
    [
        new Segment($"{e.TimeText,9} {Format.Fit(e.Node, 6)} "),
        new Segment(Format.Fit(e.Kind, 20), KindColor(e.Kind)),
        new Segment(" " + e.Text),
    ]);

    private static ColorName16? KindColor(string kind) => kind switch
    {
        "member.suspect" => ColorName16.BrightYellow,
        "member.dead" or "node.crashed" => ColorName16.BrightRed,
        "member.alive" or "node.started" or "member.refute" => ColorName16.BrightGreen,
        "partition" or "partition.heal" => ColorName16.BrightMagenta,
        _ when kind.StartsWith("step", StringComparison.Ordinal) => ColorName16.BrightCyan,
        _ => null,
    };

    private static List<StyledLine> Node(MonitorViewModel vm)
    {
        if (vm.SelectedNode is not { } id)
        {
            return [StyledLine.Plain("(no node selected)")];
        }

        var m = vm.State.Members.First(x => x.Id == id);
        var lines = new List<StyledLine>
        {
            new([new Segment($"node {id}  "), new Segment(Format.Name(m.State), Format.Color(m.State)),
                new Segment($"  incarnation {m.Incarnation}  health {m.Health}")]),
        };
        if (vm.State.NodeDetails.TryGetValue(id, out var details))
        {
            lines.AddRange(details.Select(d => StyledLine.Plain("  " + d)));
        }

        lines.Add(StyledLine.Plain("recent events:"));
        var filter = new EventFilter("node:" + id);
        lines.AddRange(vm.Log.Where(filter.Matches).TakeLast(8).Select(Event));
        return lines;
    }
}
