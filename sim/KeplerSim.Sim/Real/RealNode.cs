using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace KeplerSim.Sim.Real;

/// <summary>How a real node is reached and where it keeps its data.</summary>
/// <param name="Name">The node id (the scenario's node name).</param>
/// <param name="Address">The IP its sockets bind to.</param>
/// <param name="HttpPort">HTTP port.</param>
/// <param name="GossipPort">UDP gossip port.</param>
/// <param name="TransferPort">TCP transfer port.</param>
/// <param name="DataDir">Its data directory.</param>
/// <param name="Netns">Its network namespace (null: loopback mode).</param>
public sealed record RealNodeSpec(string Name, string Address, int HttpPort, int GossipPort, int TransferPort,
    string DataDir, string? Netns)
{
    /// <summary>Its HTTP base address.</summary>
    public Uri Url => new($"http://{Address}:{HttpPort}/");

    /// <summary>Its SEEDS entry.</summary>
    public string SeedEntry => $"{Address}:{GossipPort}";

    /// <summary>Its PEERS entry.</summary>
    public string PeerEntry => $"{Name}@{Address}:{GossipPort}:{TransferPort}";
}

/// <summary>
/// One kepler-node process of a real-mode run: started, signalled, killed. Each start is a new epoch, as a
/// simulated node's restart is. Disposing kills it (-9) if it still runs.
/// </summary>
public sealed partial class RealNode(RealNodeSpec spec, string binary, Dictionary<string, string?> env)
    : IDisposable
{
    private const int OutputLinesMax = 200;
    private const int SignalKill = 9;
    private const int SignalTerm = 15;
    private const int SignalStop = 19;
    private const int SignalCont = 18;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly Lock _logGate = new();
    private StreamWriter? _log;
    private Process? _process;

    /// <summary>Ports, address, data directory.</summary>
    public RealNodeSpec Spec => spec;

    /// <summary>Starts so far (0: never started).</summary>
    public int Epoch { get; private set; }

    /// <summary>Changes one setting for the next start (a restart with other cluster keys).</summary>
    public void Set(string variable, string? value) => env[variable] = value;

    /// <summary>SIGKILLs sent so far (a start they interrupt is no failure of the node).</summary>
    public int Kills { get; private set; }

    /// <summary>Whether a SIGSTOP holds it.</summary>
    public bool Paused { get; private set; }

    /// <summary>Whether it was told to stop (SIGTERM) since its last start: its streams end on purpose.</summary>
    public bool Terminating { get; private set; }

    /// <summary>Whether its process runs now (paused or not).</summary>
    public bool Running => _process is { HasExited: false };

    /// <summary>Its process id while it runs.</summary>
    public int? Pid => Running ? _process!.Id : null;

    /// <summary>The last lines it wrote (stdout and stderr), for failure messages.</summary>
    public string Tail(int lines = 5) => $"see {spec.DataDir}.log; last lines: " +
        string.Join(" | ", _output.Where(l => !l.StartsWith("   at ", StringComparison.Ordinal)).TakeLast(lines));

    /// <summary>Starts the process and waits (bounded) for <c>/ready</c>; throws saying why it is not ready.</summary>
    public async Task StartAsync(HttpClient http, TimeSpan timeout, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (Running)
        {
            return;
        }

        _process?.Dispose();
        Terminating = false;
        lock (_logGate)
        {
            // The node's output, every epoch appended: the run directory keeps it for a failed run.
            _log ??= new StreamWriter(spec.DataDir + ".log", append: true) { AutoFlush = true };
        }

        var process = NodeLauncher.Start(binary, env, ["serve"], netns: spec.Netns);
        _process = process;
        Epoch++;
        Paused = false;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            cancel.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{spec.Name} exited with {process.ExitCode} while starting: " +
                    Tail());
            }

            try
            {
                using var response = await http.GetAsync(new Uri(spec.Url, "ready"), cancel);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException
                && !cancel.IsCancellationRequested)
            {
                // Not listening yet.
            }

            await Task.Delay(50, cancel);
        }

        throw new TimeoutException($"{spec.Name} not ready within {timeout.TotalSeconds:0} s: {Tail()}");
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        lock (_logGate)
        {
            _log?.WriteLine(line);
        }

        while (_output.Count > OutputLinesMax && _output.TryDequeue(out _))
        {
        }
    }

    /// <summary>SIGKILL, and waits (bounded) until it is gone.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            Kills++;
            Send(SignalCont); // A stopped process dies of SIGKILL too, but its children may not: be explicit.
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }

        Paused = false;
    }

    /// <summary>SIGTERM: a graceful leave and hand-off; waits up to <paramref name="timeout"/>, then kills.</summary>
    public async Task TerminateAsync(TimeSpan timeout)
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        if (Paused)
        {
            Send(SignalCont);
            Paused = false;
        }

        Terminating = true;
        Send(SignalTerm);
        using var bound = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>SIGSTOP.</summary>
    public void Pause()
    {
        if (Running && !Paused)
        {
            Send(SignalStop);
            Paused = true;
        }
    }

    /// <summary>SIGCONT.</summary>
    public void Resume()
    {
        if (Running && Paused)
        {
            Send(SignalCont);
        }

        Paused = false;
    }

    private void Send(int signal)
    {
        if (_process is { HasExited: false } process && Kill(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({process.Id}, {signal}) of {spec.Name} failed: " +
                Marshal.GetLastPInvokeErrorMessage());
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Kills the process if it still runs.</summary>
    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        lock (_logGate)
        {
            _log?.Dispose();
            _log = null;
        }
    }
}
