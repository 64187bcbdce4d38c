using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.ViewModel;

/// <summary>
/// The event log's filter: space-separated terms, all of which must match. <c>node:N</c> (or <c>n:N</c>) keeps
/// events of node N (exact, or about member N); <c>kind:K</c> (or <c>k:K</c>) keeps kinds starting with K; any
/// other term must appear in the node, kind or text (case-insensitive).
/// </summary>
public sealed class EventFilter
{
    private readonly List<string> _nodes = [];
    private readonly List<string> _kinds = [];
    private readonly List<string> _words = [];

    /// <summary>Parses <paramref name="text"/>.</summary>
    public EventFilter(string? text)
    {
        Text = (text ?? "").Trim();
        foreach (var term in Text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Value(term, "node:", "n:") is { } node)
            {
                _nodes.Add(node);
            }
            else if (Value(term, "kind:", "k:") is { } kind)
            {
                _kinds.Add(kind);
            }
            else
            {
                _words.Add(term);
            }
        }
    }

    /// <summary>The filter as typed.</summary>
    public string Text { get; }

    /// <summary>Whether it keeps everything.</summary>
    public bool IsEmpty => Text.Length == 0;

    /// <summary>Whether <paramref name="e"/> passes.</summary>
    public bool Matches(MonitorEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return _nodes.All(n => e.Node.Equals(n, StringComparison.OrdinalIgnoreCase)
                || string.Equals(e.Field("member"), n, StringComparison.OrdinalIgnoreCase))
            && _kinds.All(k => e.Kind.StartsWith(k, StringComparison.OrdinalIgnoreCase))
            && _words.All(w => e.Node.Contains(w, StringComparison.OrdinalIgnoreCase)
                || e.Kind.Contains(w, StringComparison.OrdinalIgnoreCase)
                || e.Text.Contains(w, StringComparison.OrdinalIgnoreCase));
    }

    private static string? Value(string term, string longPrefix, string shortPrefix) =>
        term.StartsWith(longPrefix, StringComparison.OrdinalIgnoreCase) ? term[longPrefix.Length..]
        : term.StartsWith(shortPrefix, StringComparison.OrdinalIgnoreCase) ? term[shortPrefix.Length..]
        : null;
}
