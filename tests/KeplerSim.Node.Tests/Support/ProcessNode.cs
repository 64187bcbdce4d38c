using System.Diagnostics;

namespace KeplerSim.Node.Tests.Support;

/// <summary>A kepler-node process, killed (-9) on dispose if still running.</summary>
public sealed class ProcessNode : IDisposable
{
    private readonly Dictionary<string, string?> _environment;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private Process? _process;

    private readonly string? _workingDirectory;
    private readonly Func<HttpClient>? _readyClient;

    /// <param name="spec">Ports and directory.</param>
    /// <param name="environment">The node's settings.</param>
    /// <param name="workingDirectory">Where it runs (null: the tests' directory).</param>
    /// <param name="readyClient">The client that asks /ready (null: plain http to the spec's URL).</param>
    public ProcessNode(NodeSpec spec, Dictionary<string, string?> environment, string? workingDirectory = null,
        Func<HttpClient>? readyClient = null)
    {
        Spec = spec;
        _environment = environment;
        _workingDirectory = workingDirectory;
        _readyClient = readyClient;
    }

    public NodeSpec Spec { get; }

    public int? Pid => _process?.Id;

    /// <summary>Lines the process wrote to stdout so far (its logs).</summary>
    public IReadOnlyCollection<string> Output => _output;

    public async Task StartAsync()
    {
        _process = Nodes.StartProcessIn(_workingDirectory, _environment, "serve");
        // Drain the pipes so the child never blocks on a full one; keep stdout (the logs) for the tests.
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _output.Enqueue(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var client = _readyClient?.Invoke() ?? Nodes.Client(Spec.Url);
        var process = _process;
        await Wait.WaitUntil(async () =>
        {
            Assert.False(process.HasExited, $"{Spec.Id} exited with {(process.HasExited ? process.ExitCode : 0)}");
            using var response = await client.GetAsync("ready");
            return response.IsSuccessStatusCode;
        }, Nodes.StartTimeout, $"process {Spec.Id} to be ready");
    }

    /// <summary>Sends a signal by name (STOP, CONT, TERM) with kill(1).</summary>
    public void Signal(string signal)
    {
        var pid = Pid ?? throw new InvalidOperationException($"{Spec.Id} was never started");
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit(10_000);
        Assert.True(kill.ExitCode == 0, $"kill -{signal} {pid} ({Spec.Id}) exited with {kill.ExitCode}");
    }

    /// <summary>Waits (bounded) for the process to exit and returns its exit code.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        var process = _process ?? throw new InvalidOperationException($"{Spec.Id} was never started");
        Assert.True(process.WaitForExit(timeout), $"{Spec.Id} to exit within {timeout.TotalSeconds} s");
        // With a timeout WaitForExit does not wait for the redirected output to drain; without one it does (the
        // pipes close when the process has exited, so this returns promptly). The last log lines arrive only then.
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>kill -9: no shutdown code runs.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: false);
            process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
    }
}
