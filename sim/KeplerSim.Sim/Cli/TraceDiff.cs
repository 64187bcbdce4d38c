using System.Globalization;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Cli;

/// <summary>Where two traces of one file and seed part: the first record they disagree on.</summary>
/// <param name="Index">The record's position, counting from 1 (every record before it agrees).</param>
/// <param name="A">The first trace's record there; null when that trace ended first.</param>
/// <param name="B">The second trace's record there; null when that trace ended first.</param>
/// <param name="Before">The last records both traces agree on, oldest first.</param>
public sealed record TraceDivergence(long Index, TraceRecord? A, TraceRecord? B, IReadOnlyList<TraceRecord> Before)
{
    /// <summary>The earlier of the two versions: where behaviour first differed (the other may be later).</summary>
    public TraceRecord First => (A, B) switch
    {
        ({ } a, { } b) => b.TimeMicroseconds < a.TimeMicroseconds ? b : a,
        ({ } a, null) => a,
        (null, { } b) => b,
        _ => throw new InvalidOperationException("a divergence has at least one record"),
    };
}

/// <summary>
/// Compares two traces record by record (FoundationDB's unseed check and madsim's RNG-draw check, at the finest
/// grain the simulator has: every traced event). The trace hash says that two runs differ; this says where.
/// </summary>
public static class TraceDiff
{
    /// <summary>Records of agreement printed before a divergence.</summary>
    public const int ContextRecords = 5;

    /// <summary>
    /// The first record where <paramref name="a"/> and <paramref name="b"/> differ, or null when they are equal;
    /// <paramref name="agreed"/> is the number of records they share from the start.
    /// </summary>
    public static TraceDivergence? FirstDivergence(IEnumerable<TraceRecord> a, IEnumerable<TraceRecord> b,
        out long agreed)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var context = new Queue<TraceRecord>(ContextRecords + 1);
        using var left = a.GetEnumerator();
        using var right = b.GetEnumerator();
        agreed = 0;
        while (true)
        {
            var hasLeft = left.MoveNext();
            var hasRight = right.MoveNext();
            if (!hasLeft && !hasRight)
            {
                return null;
            }

            if (hasLeft && hasRight && left.Current == right.Current)
            {
                agreed++;
                context.Enqueue(left.Current);
                if (context.Count > ContextRecords)
                {
                    context.Dequeue();
                }

                continue;
            }

            return new TraceDivergence(agreed + 1, hasLeft ? left.Current : null, hasRight ? right.Current : null,
                context.ToList());
        }
    }

    /// <summary>Compares two JSON-lines trace files (as <c>--trace</c> writes them).</summary>
    public static TraceDivergence? CompareFiles(string a, string b, out long agreed)
    {
        using var left = File.OpenText(a);
        using var right = File.OpenText(b);
        return FirstDivergence(TraceRecorder.ReadJsonLines(left), TraceRecorder.ReadJsonLines(right), out agreed);
    }

    /// <summary>Prints the comparison: agreement, or the first divergent event with both versions.</summary>
    public static void Print(TextWriter output, TraceDivergence? divergence, long agreed, string labelA,
        string labelB)
    {
        ArgumentNullException.ThrowIfNull(output);
        var inv = CultureInfo.InvariantCulture;
        if (divergence is null)
        {
            output.WriteLine(string.Create(inv, $"traces:       identical ({agreed:N0} records)"));
            return;
        }

        var first = divergence.First;
        output.WriteLine(string.Create(inv,
            $"traces:       DIVERGE at record {divergence.Index:N0} ({agreed:N0} records agree before it)"));
        output.WriteLine($"virtual time: {Seconds(first.TimeMicroseconds)}");
        output.WriteLine($"node:         {first.Node}");
        output.WriteLine($"A:            {Describe(divergence.A)}   [{labelA}]");
        output.WriteLine($"B:            {Describe(divergence.B)}   [{labelB}]");
        output.WriteLine("agreed before (last records both traces have):");
        foreach (var record in divergence.Before)
        {
            output.WriteLine($"  {Describe(record)}");
        }
    }

    /// <summary>One record as one line: time, node, kind, detail, numbers.</summary>
    public static string Describe(TraceRecord? record) => record is not { } r
        ? "(the trace ends here)"
        : string.Create(CultureInfo.InvariantCulture,
            $"{Seconds(r.TimeMicroseconds)} {r.Node} {r.Kind}{(r.Detail is null ? "" : " " + r.Detail)}" +
            $"{(r.A == 0 ? "" : $" a={r.A}")}{(r.B == 0 ? "" : $" b={r.B}")}");

    private static string Seconds(long microseconds) =>
        (microseconds / 1e6).ToString("0.000000", CultureInfo.InvariantCulture) + " s";
}
