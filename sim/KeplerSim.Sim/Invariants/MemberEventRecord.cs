using System.Text.RegularExpressions;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// A SWIM member event as the trace prints it (<c>member.suspect … { Member = b, Incarnation = 3, From = a …</c>):
/// who observed it, its kind, the member it is about and, when the event names one, who raised it. The one parser
/// the membership judges (<see cref="FalseDeadTracker"/>, <see cref="FalseSuspicionTracker"/>) share.
/// </summary>
/// <param name="Observer">The node whose view changed (the trace record's node).</param>
/// <param name="Kind">The event kind after <c>member.</c>: alive, suspect, dead, left, ….</param>
/// <param name="Member">The member the event is about.</param>
/// <param name="From">The node that raised the suspicion or verdict, when the event names one.</param>
/// <param name="At">When the observer's view changed, virtual microseconds.</param>
public sealed partial record MemberEventRecord(string Observer, string Kind, string Member, string? From, long At)
{
    /// <summary>The member event <paramref name="record"/> prints, or null if it is not one.</summary>
    public static MemberEventRecord? Parse(TraceRecord record)
    {
        if (record.Kind != TraceKind.Protocol || record.Detail?.StartsWith("member.", StringComparison.Ordinal) != true
            || Pattern().Match(record.Detail) is not { Success: true } match)
        {
            return null;
        }

        return new MemberEventRecord(record.Node, match.Groups["kind"].Value, match.Groups["member"].Value,
            match.Groups["from"].Success ? match.Groups["from"].Value : null, record.TimeMicroseconds);
    }

    /// <summary>The member event <paramref name="e"/> is, on either host, or null if it is not one.</summary>
    public static MemberEventRecord? Of(CheckedEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Kind.StartsWith("member.", StringComparison.Ordinal) && e.Kind.Length > "member.".Length
            && e.Field("Member") is { Length: > 0 } member && e.Field("Incarnation") is not null
                ? new MemberEventRecord(e.Node, e.Kind["member.".Length..], member, e.Field("From"), e.At)
                : null;
    }

    /// <summary>True when the observer raised this event itself (its own probe or suspicion timed out).</summary>
    public bool RaisedByObserver => From == Observer;

    // The trace prints an event as its record: the base's Kind comes first ("{ Kind = member.dead, Member = …").
    [GeneratedRegex(@"^member\.(?<kind>\w+) \w+ \{ (Kind = \S+, )?Member = (?<member>[^,]+), " +
        @"Incarnation = -?\d+(, From = (?<from>[^ ,]+))?", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
