using System.CommandLine;
using System.Reactive.Concurrency;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;
using KeplerSim.Tui.Views;
using Terminal.Gui.App;

namespace KeplerSim.Tui;

/// <summary>The <c>kepler-tui</c> command line.</summary>
public static class Program
{
    /// <summary>Exit code of bad arguments or an unreadable input file.</summary>
    public const int ExitBadInput = 2;

    /// <summary>Entry point.</summary>
    public static int Main(string[] args) => Build().Parse(args).Invoke();

    /// <summary>Builds the root command.</summary>
    public static RootCommand Build()
    {
        var node = new Option<string?>("--node") { Description = "Watch a real cluster through this node's HTTP URL" };
        var scenario = new Option<FileInfo?>("--scenario") { Description = "Run this scenario file live, in-process" };
        var seed = new Option<ulong?>("--seed")
        {
            Description = "Root seed of the live scenario (default: the file's)",
        };
        var replay = new Option<FileInfo?>("--replay")
        {
            Description = "Replay a trace file (kepler-sim run SCENARIO --trace FILE)",
        };
        var token = new Option<string?>("--token")
        {
            Description = "API token for --node (sent as 'Authorization: Bearer') [default: env KEPLER_TOKEN]",
        };
        var caCert = new Option<FileInfo?>("--ca-cert")
        {
            Description = "PEM CA (or self-signed certificate) to trust for an https --node " +
                "[default: env KEPLER_CA_CERT]",
        };
        var insecure = new Option<bool>("--insecure") { Description = "Accept any https certificate (tests only)" };
        var root = new RootCommand(
            "kepler-tui: a terminal monitor for KeplerFS clusters, live simulations and trace replays. " +
            "Exactly one of --node, --scenario, --replay. Keys: see docs/TUI.md (q quits).")
        {
            node, scenario, seed, replay, token, caCert, insecure,
        };
        root.Validators.Add(r =>
        {
            var given = new object?[] { r.GetValue(node), r.GetValue(scenario), r.GetValue(replay) }
                .Count(v => v is not null);
            if (given != 1)
            {
                r.AddError("give exactly one of --node URL, --scenario FILE, --replay TRACE");
            }
            else if (r.GetValue(seed) is not null && r.GetValue(scenario) is null)
            {
                r.AddError("--seed goes with --scenario");
            }
            else if (r.GetValue(node) is { } url && NodeUrl(url) is null)
            {
                r.AddError($"--node: '{url}' is not an http:// or https:// URL");
            }
        });
        root.SetAction(parse =>
        {
            var error = parse.InvocationConfiguration.Error;
            try
            {
                var url = parse.GetValue(node) is { } text ? NodeUrl(text) : null;
                var access = new NodeAccess(
                    parse.GetValue(token) ?? Environment.GetEnvironmentVariable("KEPLER_TOKEN"),
                    parse.GetValue(caCert)?.FullName ?? Environment.GetEnvironmentVariable("KEPLER_CA_CERT"),
                    parse.GetValue(insecure));
                return Run(app => Source(app, url, access, parse.GetValue(scenario), parse.GetValue(seed),
                    parse.GetValue(replay)));
            }
            catch (Exception e) when (e is ScenarioException or IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"kepler-tui: {e.Message}");
                return ExitBadInput;
            }
        });
        return root;
    }

    /// <summary>The node's base URL (with a trailing slash), or null if it is not an HTTP URL.</summary>
    public static Uri? NodeUrl(string text) =>
        Uri.TryCreate(text.EndsWith('/') ? text : text + "/", UriKind.Absolute, out var url)
            && url.Scheme is "http" or "https" ? url : null;

    private static IClusterSource Source(IApplication app, Uri? node, NodeAccess access, FileInfo? scenario,
        ulong? seed, FileInfo? replay)
    {
        if (node is not null)
        {
            return new HttpClusterSource(node, NodeTls.Handler(access.CaPath, access.Insecure),
                TaskPoolScheduler.Default, TimeProvider.System, access.Token);
        }

        if (scenario is not null)
        {
            var loaded = ScenarioLoader.LoadFile(scenario.FullName);
            return new SimulationHost(() => new SimulationEngine(loaded, seed ?? loaded.Seed));
        }

        return ReplaySource.Load(replay!.FullName, new UiScheduler(app));
    }

    private static int Run(Func<IApplication, IClusterSource> create)
    {
        using var app = Application.Create();
        var source = create(app);
        app.Init();
        using (source)
        {
            using var vm = new MonitorViewModel(source, new UiScheduler(app));
            using var window = new MainWindow(vm);
            app.AddTimeout(TimeSpan.Zero, () =>
            {
                vm.Start();
                return false;
            });
            app.Run(window);
        }

        return 0;
    }

    /// <summary>How the monitor reaches a real node: its token and which certificates it trusts.</summary>
    private sealed record NodeAccess(string? Token, string? CaPath, bool Insecure);
}
