using System.Reactive.Linq;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;
using Terminal.Gui.Drivers;
using Terminal.Gui.Input;
using Terminal.Gui.ViewBase;
using Terminal.Gui.Views;

namespace KeplerSim.Tui.Views;

/// <summary>
/// The monitor's window: two status lines, the page tabs, the current page, the help bar. Every key is handled
/// here (the pages do not take focus), so the key map in docs/TUI.md is the whole story.
/// </summary>
public sealed class MainWindow : Window
{
    /// <summary>Virtual time the replay's small seek moves.</summary>
    public const long SeekSmallMicroseconds = 1_000_000;

    /// <summary>Virtual time the replay's large seek moves.</summary>
    public const long SeekLargeMicroseconds = 10_000_000;

    private readonly MonitorViewModel _vm;
    private readonly Label _header;
    private readonly LinesView _situation;
    private readonly Label _tabs;
    private readonly LinesView _page;
    private readonly Label _help;
    private readonly IDisposable _changes;
    private Page _current = Page.Members;
    private string? _filterDraft;
    private int _scrollBack;
    private (int Width, int Height) _laidOut;

    /// <summary>A window over <paramref name="vm"/>; redraws whenever it changes.</summary>
    public MainWindow(MonitorViewModel vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        _vm = vm;
        Title = "kepler-tui";
        _header = new Label { X = 0, Y = 0, Width = Dim.Fill(), Height = 1 };
        _situation = new LinesView { X = 0, Y = 1, Width = Dim.Fill(), Height = 1 };
        _tabs = new Label { X = 0, Y = 2, Width = Dim.Fill(), Height = 1 };
        _page = new LinesView { X = 0, Y = 3, Width = Dim.Fill(), Height = Dim.Fill(1) };
        _help = new Label { X = 0, Y = Pos.AnchorEnd(1), Width = Dim.Fill(), Height = 1 };
        Add(_header, _situation, _tabs, _page, _help);
        _changes = vm.Changed.Subscribe(_ => Refresh());
        Refresh();
    }

    /// <summary>The page shown.</summary>
    public Page CurrentPage => _current;

    /// <summary>Rebuilds every line from the view model (UI thread).</summary>
    public void Refresh()
    {
        var width = Math.Max(1, Viewport.Width);
        var height = Math.Max(1, _page.Viewport.Height);
        Title = "kepler-tui: " + _vm.State.Source;
        _header.Text = Pages.Header(_vm, width);
        _situation.Lines = [Pages.Situation(_vm)];
        _tabs.Text = _filterDraft is { } draft
            ? $"/ filter: {draft}_   (Enter apply, Esc cancel)"
            : Pages.Tabs(_current);
        var lines = Pages.Build(_current, _vm, height);
        _page.Lines = lines;
        _page.Top = _current == Page.Events ? Math.Max(0, lines.Count - height - _scrollBack) : 0;
        _help.Text = Pages.Help(_vm.Kind, width);
        SetNeedsDraw();
    }

    /// <inheritdoc />
    protected override void OnSubViewsLaidOut(LayoutEventArgs args)
    {
        base.OnSubViewsLaidOut(args);
        var size = (Viewport.Width, _page.Viewport.Height);
        if (size != _laidOut)
        {
            // Pages are built for a width and height: rebuild them once the terminal's size is known or changed.
            _laidOut = size;
            Refresh();
        }
    }

    /// <inheritdoc />
    protected override bool OnKeyDown(Key key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var handled = _filterDraft is not null ? FilterKey(key) : CommandKey(key) || NavigationKey(key);
        if (handled)
        {
            Refresh();
        }

        return handled || base.OnKeyDown(key);
    }

    private bool FilterKey(Key key)
    {
        if (key.KeyCode == KeyCode.Enter)
        {
            _vm.SetFilter(_filterDraft);
            _filterDraft = null;
            _current = Page.Events;
            _scrollBack = 0;
        }
        else if (key.KeyCode == KeyCode.Esc)
        {
            _filterDraft = null;
        }
        else if (key.KeyCode == KeyCode.Backspace)
        {
            _filterDraft = _filterDraft![..Math.Max(0, _filterDraft!.Length - 1)];
        }
        else if (key.AsRune.Value is >= 32 and < 127)
        {
            _filterDraft += (char)key.AsRune.Value;
        }

        return true;
    }

    private bool CommandKey(Key key)
    {
        var rune = key.AsRune.Value;
        switch (key.IsCtrl || key.IsAlt ? 0 : rune)
        {
            case 'q':
                App?.RequestStop();
                return true;
            case '/':
                _filterDraft = _vm.Filter.Text;
                return true;
            case 'n':
                var own = "node:" + _vm.SelectedNode;
                _vm.SetFilter(_vm.Filter.Text == own ? null : own);
                return true;
            case >= '1' and <= '5':
                _current = (Page)(rune - '0');
                _scrollBack = 0;
                return true;
            case ' ':
                _vm.Send(CommandKind.TogglePlay);
                return true;
            case '.':
                _vm.Send(CommandKind.Step);
                return true;
            case '+' or '=':
                _vm.Send(CommandKind.Faster);
                return true;
            case '-':
                _vm.Send(CommandKind.Slower);
                return true;
            case 'c' or 'r' or 'p' or 'h' when _vm.Kind == SourceKind.Simulation:
                _vm.Send(rune switch
                {
                    'c' => CommandKind.Crash,
                    'r' => CommandKind.Restart,
                    'p' => CommandKind.Isolate,
                    _ => CommandKind.Heal,
                });
                return true;
            case '<' or '>':
                _vm.Send(CommandKind.SeekBy, rune == '<' ? -SeekLargeMicroseconds : SeekLargeMicroseconds);
                return true;
            default:
                return false;
        }
    }

    private bool NavigationKey(Key key)
    {
        switch (key.KeyCode)
        {
            case KeyCode.CursorUp when _current == Page.Events:
            case KeyCode.PageUp:
                _scrollBack += key.KeyCode == KeyCode.PageUp ? Math.Max(1, _page.Viewport.Height - 1) : 1;
                return true;
            case KeyCode.CursorDown when _current == Page.Events:
            case KeyCode.PageDown:
                _scrollBack = Math.Max(0, _scrollBack -
                    (key.KeyCode == KeyCode.PageDown ? Math.Max(1, _page.Viewport.Height - 1) : 1));
                return true;
            case KeyCode.CursorUp:
                _vm.Select(-1);
                return true;
            case KeyCode.CursorDown:
                _vm.Select(1);
                return true;
            case KeyCode.Tab:
                _current = _current == Page.Node ? Page.Members : _current + 1;
                return true;
            case KeyCode.CursorLeft or KeyCode.CursorRight:
                _vm.Send(CommandKind.SeekBy, key.KeyCode == KeyCode.CursorLeft ? -SeekSmallMicroseconds
                    : SeekSmallMicroseconds);
                return true;
            case KeyCode.Home or KeyCode.End:
                _vm.Send(CommandKind.SeekTo, key.KeyCode == KeyCode.Home ? 0 : long.MaxValue);
                return true;
            default:
                return false;
        }
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _changes.Dispose();
        }

        base.Dispose(disposing);
    }
}
