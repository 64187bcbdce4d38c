using KeplerSim.Sim.Kernel;
using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Sources;

/// <summary>Turns simulator trace records into log events (the noisy kinds, such as datagrams, are left out).</summary>
public static class TraceEvents
{
    private static readonly IReadOnlyDictionary<string, string> NoFields =
        new SortedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The event for <paramref name="record"/>, or null for datagrams, frames, disk and timers.</summary>
    public static MonitorEvent? ToEvent(TraceRecord record)
    {
        switch (record.Kind)
        {
            case TraceKind.Protocol:
                var (kind, fields) = EventText.Parse(record.Detail);
                return new MonitorEvent(record.TimeMicroseconds, null, record.Node, kind,
                    EventText.Display(record.Detail), fields);
            case TraceKind.NodeStarted:
                return Make(record, "node.started", $"epoch {record.A}");
            case TraceKind.NodeCrashed:
                return Make(record, "node.crashed", "");
            case TraceKind.NodePaused:
                return Make(record, "node.paused", "");
            case TraceKind.NodeResumed:
                return Make(record, "node.resumed", $"backlog {record.A}");
            case TraceKind.Partition:
                return Make(record, record.Detail == "heal" ? "partition.heal" : "partition", record.Detail ?? "");
            case TraceKind.Step:
                return Make(record, "step", record.Detail ?? "");
            case TraceKind.ClockJump:
                return Make(record, "clock", $"{record.Detail} {record.A}us");
            case TraceKind.Corruption:
                return Make(record, "disk.corrupted", record.Detail ?? "");
            case TraceKind.DiskFault:
                return Make(record, "disk.fault", record.Detail ?? "");
            default:
                return null;
        }
    }

    private static MonitorEvent Make(TraceRecord record, string kind, string text) =>
        new(record.TimeMicroseconds, null, record.Node, kind, text, NoFields);
}
