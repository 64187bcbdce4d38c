using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using KeplerSim.Tui.Model;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;
using KeplerSim.Tui.Views;
using Terminal.Gui.App;
using Terminal.Gui.Drivers;
using Terminal.Gui.Testing;
using Terminal.Gui.Time;

namespace KeplerSim.Tui.Tests;

/// <summary>Repository paths.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Scenario(string relative) => Path.Combine(Root, "scenarios", relative);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "KeplerSim.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("KeplerSim.sln not found above the test binaries");
    }
}

/// <summary>A source the test drives by hand: what it pushes is what the view model gets.</summary>
internal sealed class ScriptedSource(SourceKind kind = SourceKind.Cluster) : IClusterSource
{
    private readonly Subject<ClusterState> _states = new();
    private readonly Subject<MonitorEvent> _events = new();

    public List<SourceCommand> Commands { get; } = [];

    public bool Started { get; private set; }

    public SourceKind Kind => kind;

    public IObservable<ClusterState> States => _states.AsObservable();

    public IObservable<MonitorEvent> Events => _events.AsObservable();

    public void Start() => Started = true;

    public void Send(SourceCommand command) => Commands.Add(command);

    public void Push(ClusterState state) => _states.OnNext(state);

    public void Push(MonitorEvent e) => _events.OnNext(e);

    public void Dispose()
    {
        _states.Dispose();
        _events.Dispose();
    }
}

/// <summary>Builds events for scripts.</summary>
internal static class Ev
{
    public static MonitorEvent At(double seconds, string node, string kind, params (string Key, string Value)[] fields)
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in fields)
        {
            map[key] = value;
        }

        return new MonitorEvent((long)(seconds * 1_000_000), null, node, kind, EventText.Body(map), map);
    }

    public static MonitorEvent Member(double seconds, string kind, string member, long incarnation, string from) =>
        At(seconds, from, kind, ("member", member), ("incarnation", incarnation.ToString(
            System.Globalization.CultureInfo.InvariantCulture)), ("from", from));
}

/// <summary>Integer-tick virtual scheduler (System.Reactive's VirtualTimeScheduler; TestScheduler is not
/// available here).</summary>
internal sealed class TickScheduler : VirtualTimeScheduler<long, long>
{
    protected override long Add(long absolute, long relative) => absolute + relative;

    protected override DateTimeOffset ToDateTimeOffset(long absolute) => new(absolute, TimeSpan.Zero);

    protected override long ToRelative(TimeSpan timeSpan) => timeSpan.Ticks;
}

/// <summary>
/// The monitor running headless: Terminal.Gui's ANSI driver at a fixed size, virtual time, the real window and
/// view model over a source; the screen is read back as text.
/// </summary>
internal sealed class Headless : IDisposable
{
    private readonly SessionToken _session;

    public Headless(IClusterSource source, int width = 80, int height = 24)
    {
        Time = new VirtualTimeProvider();
        App = Application.Create(Time);
        App.Init(DriverRegistry.Names.ANSI);
        App.Driver!.SetScreenSize(width, height);
        ViewModel = new MonitorViewModel(source, new UiScheduler(App));
        Window = new MainWindow(ViewModel);
        _session = App.Begin(Window)!;
        ViewModel.Start();
        Pump();
    }

    public VirtualTimeProvider Time { get; }

    public IApplication App { get; }

    public MonitorViewModel ViewModel { get; }

    public MainWindow Window { get; }

    /// <summary>Runs queued UI work (zero timeouts from other threads) in virtual time.</summary>
    public void Pump()
    {
        Time.Advance(TimeSpan.FromMilliseconds(1));
        App.TimedEvents!.RunTimers();
    }

    public void Key(Terminal.Gui.Input.Key key)
    {
        App.InjectKey(key);
        Pump();
    }

    public void Type(string text)
    {
        foreach (var c in text)
        {
            Key(new Terminal.Gui.Input.Key(c));
        }
    }

    public string Screen()
    {
        Pump();
        App.LayoutAndDraw(forceRedraw: true);
        return App.Driver!.ToString() ?? "";
    }

    /// <summary>The screen line that contains <paramref name="text"/>, or a failure listing the screen.</summary>
    public string LineWith(string text)
    {
        var screen = Screen();
        return screen.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"no screen line contains '{text}':\n{screen}");
    }

    public void Dispose()
    {
        App.End(_session);
        Window.Dispose();
        ViewModel.Dispose();
        App.Dispose();
    }
}
