using System.Globalization;
using Terminal.Gui.Drawing;
using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Views;

/// <summary>A piece of text in one colour (null: the view's normal colour).</summary>
/// <param name="Text">The text.</param>
/// <param name="Color">Its foreground colour, or null.</param>
public readonly record struct Segment(string Text, ColorName16? Color = null);

/// <summary>One line of a page: segments drawn left to right; <see cref="Selected"/> draws it highlighted.</summary>
/// <param name="Segments">The segments.</param>
/// <param name="Selected">Whether it is the selected row.</param>
public sealed record StyledLine(IReadOnlyList<Segment> Segments, bool Selected = false)
{
    /// <summary>A line of plain text.</summary>
    public static StyledLine Plain(string text) => new([new Segment(text)]);

    /// <summary>The text without colours.</summary>
    public override string ToString() => string.Concat(Segments.Select(s => s.Text));
}

/// <summary>How values are shown.</summary>
public static class Format
{
    /// <summary>The colour of a member state.</summary>
    public static ColorName16 Color(MemberState state) => state switch
    {
        MemberState.Alive => ColorName16.BrightGreen,
        MemberState.Suspect => ColorName16.BrightYellow,
        MemberState.Dead => ColorName16.BrightRed,
        MemberState.Down => ColorName16.Red,
        MemberState.Paused => ColorName16.BrightCyan,
        MemberState.Left => ColorName16.DarkGray,
        _ => ColorName16.Gray,
    };

    /// <summary>The name of a member state.</summary>
    public static string Name(MemberState state) => state.ToString().ToLowerInvariant();

    /// <summary>Bytes with a binary unit.</summary>
    public static string Bytes(long? bytes) => bytes switch
    {
        null => "n/a",
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => Invariant($"{bytes / 1024.0:0.0} KiB"),
        < 1024L * 1024 * 1024 => Invariant($"{bytes / 1048576.0:0.0} MiB"),
        _ => Invariant($"{bytes / 1073741824.0:0.00} GiB"),
    };

    /// <summary>A duration in microseconds as "1m05s", "4.2s"; "?" when negative (unknown).</summary>
    public static string Duration(long microseconds) => microseconds switch
    {
        < 0 => "?",
        < 60_000_000 => Invariant($"{microseconds / 1e6:0.0}s"),
        < 3_600_000_000 => Invariant($"{microseconds / 60_000_000}m{microseconds / 1_000_000 % 60:00}s"),
        _ => Invariant($"{microseconds / 3_600_000_000}h{microseconds / 60_000_000 % 60:00}m"),
    };

    /// <summary>A fraction as a percentage.</summary>
    public static string Percent(double fraction) => Invariant($"{fraction * 100,5:0.0}%");

    /// <summary>A bar of <paramref name="width"/> cells filled to <paramref name="fraction"/>.</summary>
    public static string Bar(double fraction, int width)
    {
        var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * width);
        return new string('#', filled) + new string('.', width - filled);
    }

    /// <summary>The repair progress line.</summary>
    public static string Progress(RepairProgress? p) => p switch
    {
        null => "repair: no progress reported",
        { ChunksLeft: 0 } => "repair: idle (queues empty)",
        _ => Invariant($"repair: {p.ChunksLeft} chunks left ({Bytes(p.BytesLeft)}) ") +
            Invariant($"{p.ChunksPerSecond:0.0}/s ETA {Duration(p.EtaMicroseconds)}"),
    };

    /// <summary>Text cut (or padded) to exactly <paramref name="width"/> columns.</summary>
    public static string Fit(string text, int width) =>
        width <= 0 ? "" : text.Length > width ? text[..Math.Max(0, width - 1)] + "~" : text.PadRight(width);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
