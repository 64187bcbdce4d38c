using Terminal.Gui.Drawing;
using Terminal.Gui.ViewBase;
using Attribute = Terminal.Gui.Drawing.Attribute;

namespace KeplerSim.Tui.Views;

/// <summary>
/// Draws a page: styled lines from <see cref="Top"/> down, cut to the width, the rest of the area cleared.
/// Pages are built as text by <see cref="Pages"/>, which keeps them testable and their layout exact at 80×24.
/// </summary>
public sealed class LinesView : View
{
    private IReadOnlyList<StyledLine> _lines = [];

    /// <summary>The lines.</summary>
    public IReadOnlyList<StyledLine> Lines
    {
        get => _lines;
        set
        {
            _lines = value;
            SetNeedsDraw();
        }
    }

    /// <summary>The first line shown.</summary>
    public int Top { get; set; }

    /// <inheritdoc />
    protected override bool OnDrawingContent(DrawContext? context)
    {
        var normal = GetAttributeForRole(VisualRole.Normal);
        var selected = GetAttributeForRole(VisualRole.Focus);
        var width = Viewport.Width;
        for (var row = 0; row < Viewport.Height; row++)
        {
            Move(0, row);
            var index = Top + row;
            var line = index >= 0 && index < _lines.Count ? _lines[index] : null;
            var column = 0;
            foreach (var segment in line?.Segments ?? [])
            {
                if (column >= width)
                {
                    break;
                }

                var text = segment.Text.Length > width - column ? segment.Text[..(width - column)] : segment.Text;
                SetAttribute(line!.Selected ? selected
                    : segment.Color is { } color ? new Attribute(new Color(color), normal.Background) : normal);
                AddStr(text);
                column += text.Length;
            }

            SetAttribute(line?.Selected == true ? selected : normal);
            if (column < width)
            {
                AddStr(new string(' ', width - column));
            }
        }

        return true;
    }
}
