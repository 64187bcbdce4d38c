using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Real;

internal sealed partial class RealScenarioRun
{
    /// <summary>How long a SIGTERMed node may leave and hand off: the node's default HANDOFF_TIMEOUT_MS plus its
    /// leave timeout and a margin.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(40);

    private readonly List<(ScenarioStep Step, FileOp Op, string? ExpectedHash)> _stepOps = [];
    private readonly List<(int Index, Expectation Result)> _waitResults = [];

    private RealNode Node(string name) => _nodes[name];

    private Task RunStepAsync(ScenarioStep step)
    {
        AddTimeline("step: " + step.Describe());
        Count("steps." + Names.Snake(step.Kind.ToString()));
        if (CannotPerform(step) is { } why)
        {
            NotApplicable(step, why);
            return Task.CompletedTask;
        }

        switch (step.Kind)
        {
            case StepKind.Start:
                step.Nodes.ToList().ForEach(n => StartInBackground(Node(n), "start"));
                break;
            case StepKind.Stop:
                foreach (var node in step.Nodes.Select(Node))
                {
                    lock (_checkGate)
                    {
                        _cluster.Stopped.Add(node.Spec.Name);
                    }

                    HostChanged(HostChange.NodeCrashed, node); // As simulated: a stop is a crash of a non-member.
                    Track(node.TerminateAsync(StopTimeout));
                }

                break;
            case StepKind.Crash:
                foreach (var node in step.Nodes.Select(Node))
                {
                    node.Kill();
                    HostChanged(HostChange.NodeCrashed, node);
                    Count("faults.crash");
                    if (step.For is { } delay)
                    {
                        // From the step's time: a kill waits for the process to go, which takes a while under load.
                        ScheduleAt(step.At.Microseconds + delay.Microseconds, () => RestartIfDown(node));
                    }
                }

                break;
            case StepKind.Restart:
                // Held from before the kill: a kill waits for the process to go (half a second under load), and
                // arrivals due meanwhile would find the node starting (connection refused), which a simulated
                // restart never shows (key-rotation counted such put errors).
                BeginHold();
                foreach (var node in step.Nodes.Select(Node))
                {
                    if (step.ClusterKey is { } keys)
                    {
                        node.Set("CLUSTER_KEY", RealNodeSettings.ClusterKey(_seed, keys));
                    }

                    node.Kill();
                    HostChanged(HostChange.NodeCrashed, node);
                    Count("faults.restart");
                    StartInBackground(node, "restart");
                }

                ReleaseHold();
                break;
            case StepKind.Pause:
                foreach (var node in step.Nodes.Select(Node))
                {
                    node.Pause();
                    HostChanged(HostChange.NodePaused, node);
                    Count("faults.pause");
                    if (step.For is { } delay)
                    {
                        ScheduleAt(step.At.Microseconds + delay.Microseconds, () => Resume(node));
                    }
                }

                break;
            case StepKind.Resume:
                step.Nodes.Select(Node).ToList().ForEach(n => Resume(n));
                break;
            default:
                return RunOtherStepAsync(step);
        }

        return Task.CompletedTask;
    }

    private Task RunOtherStepAsync(ScenarioStep step)
    {
        switch (step.Kind)
        {
            case StepKind.Partition:
                for (var i = 0; i < step.Groups.Count; i++)
                {
                    for (var j = i + 1; j < step.Groups.Count; j++)
                    {
                        Cut(step.Groups[i], step.Groups[j]);
                        if (!step.OneWay)
                        {
                            Cut(step.Groups[j], step.Groups[i]);
                        }
                    }
                }

                Count("faults.partition");
                break;
            case StepKind.Heal:
                _lab!.Heal();
                LinksChanged(t => t.Heal());
                break;
            case StepKind.Network:
                ChangeNetwork(step);
                break;
            case StepKind.Corrupt:
                Corrupt(step);
                break;
            case StepKind.Clock:
                return ChangeClock(step);
            case StepKind.Disk:
                if (DiskNotMapped(step) is { } part)
                {
                    lock (_gate)
                    {
                        _notApplicable.Add(new Expectation($"step {step.Index} at {step.At}: {step.Describe()}",
                            ExpectationStatus.NotApplicable, "real mode sets the capacity only: " + part));
                    }
                }

                NoteDriverFault($"disk step on {string.Join(",", step.Nodes)}");
                return ChangeDisk(step);
            case StepKind.WaitUntil:
                StartWait(step);
                break;
            case StepKind.ReplicationFactor:
                Track(SetReplicationFactorAsync(step));
                break;
            default:
                RunFileStep(step);
                break;
        }

        return Task.CompletedTask;
    }

    /// <summary>Why real mode cannot perform the step here (null: it can).</summary>
    private string? CannotPerform(ScenarioStep step) => step.Kind switch
    {
        StepKind.Partition or StepKind.Heal when _lab is null =>
            $"partitions need network namespaces, and this run is on loopback ({_labUnavailable})",
        StepKind.Network when _lab is null =>
            $"link faults need network namespaces, and this run is on loopback ({_labUnavailable})",
        StepKind.Network when _lab!.NetemUnavailable is { } why => why,
        StepKind.Network when step.From.Count > 0 =>
            "per-link faults (from/to) are not mapped to tc filters yet; only whole-network changes are",
        StepKind.Outsider => "the outsider attack runs processes without the cluster key inside the simulator's " +
            "network; real mode has no such attacker (tests/KeplerSim.Node.Tests/SecurityTests.cs covers it)",
        StepKind.Restart when step.ClusterKey is not null && !_scenario.Cluster.ClusterKey =>
            "the cluster runs without a cluster key (cluster.cluster_key: false)",
        _ => null,
    };

    private void NotApplicable(ScenarioStep step, string why)
    {
        lock (_gate)
        {
            _notApplicable.Add(new Expectation($"step {step.Index} at {step.At}: {step.Describe()}",
                ExpectationStatus.NotApplicable, "real mode cannot perform it: " + why));
        }
    }

    private void Cut(IReadOnlyList<string> from, IReadOnlyList<string> to)
    {
        foreach (var a in from)
        {
            foreach (var b in to)
            {
                _lab!.Cut(_names.IndexOf(a), _names.IndexOf(b));
                LinksChanged(t => t.Cut(a, b));
            }
        }
    }

    private void ChangeNetwork(ScenarioStep step)
    {
        var spec = step.NetworkChange!;
        var netem = NetemArguments(spec);
        for (var i = 0; i < _names.Count; i++)
        {
            _lab!.Shape(i, netem);
        }

        LinksChanged(t => t.ShapeLinks(spec.Loss));
        Count("faults.network");
    }

    /// <summary>The netem arguments of a network profile: mean latency with jitter, loss, duplication, reordering.
    /// </summary>
    internal static List<string> NetemArguments(NetworkSpec spec)
    {
        var inv = CultureInfo.InvariantCulture;
        var mean = (spec.LatencyMin.Microseconds + spec.LatencyMax.Microseconds) / 2;
        var jitter = (spec.LatencyMax.Microseconds - spec.LatencyMin.Microseconds) / 2;
        var args = new List<string> { "delay", $"{mean}us", $"{jitter}us" };
        args.AddRange(["loss", string.Create(inv, $"{spec.Loss * 100:0.###}%")]);
        args.AddRange(["duplicate", string.Create(inv, $"{spec.Duplication * 100:0.###}%")]);
        args.AddRange(["rate", string.Create(inv, $"{spec.BandwidthMbps:0.###}mbit")]);
        if (spec.Reorder > 0)
        {
            args.AddRange(["reorder", string.Create(inv, $"{spec.Reorder * 100:0.###}%")]);
        }

        return args;
    }

    /// <summary>Flips bytes in the middle of <c>count</c> random chunk files of each node (seeded choice).</summary>
    private void Corrupt(ScenarioStep step)
    {
        var random = new DeterministicRandom(DeterministicRandom.Derive(_seed, $"step/{step.Index}"));
        foreach (var node in step.Nodes.Select(Node))
        {
            var files = _inspector.ChunkFiles(node.Spec.DataDir).Where(f => f.Matches).ToList();
            var corrupted = 0;
            while (corrupted < step.Count && files.Count > 0)
            {
                var pick = random.NextInt(files.Count);
                bool flipped;
                lock (_checkGate)
                {
                    // Known before the bytes change, under the check lock: an event check never sees the damage
                    // without knowing its cause (a scrub finding it condemns a known-corrupt copy).
                    _cluster.KnownCorrupt.Add((node.Spec.Name, files[pick].Id));
                    _driverFaults.Add((Now, $"corruption of {node.Spec.Name}:{files[pick].Id[..12]}"));
                    flipped = FlipBytes(files[pick].Path);
                }

                if (flipped)
                {
                    corrupted++;

                    _inspector.Invalidate(files[pick].Path);
                    var relative = Path.GetRelativePath(node.Spec.DataDir, files[pick].Path);
                    AddTimeline($"{node.Spec.Name}: corruption {relative}");
                }

                files.RemoveAt(pick);
            }

            Count("faults.step-corruption", corrupted);
            if (corrupted < step.Count)
            {
                AddTimeline($"{node.Spec.Name}: only {corrupted} of {step.Count} chunk file(s) to corrupt");
            }
        }
    }

    private static bool FlipBytes(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            var middle = new byte[Math.Min(16, file.Length)];
            file.Position = (file.Length - middle.Length) / 2;
            file.ReadExactly(middle);
            for (var i = 0; i < middle.Length; i++)
            {
                middle[i] ^= 0xFF;
            }

            file.Position = (file.Length - middle.Length) / 2;
            file.Write(middle);
            file.Flush(flushToDisk: true);
            return middle.Length > 0;
        }
        catch (IOException)
        {
            return false; // Renamed away by the node right now.
        }
    }

    /// <summary>Starts the node in the background; a start the timeline asked for holds the timeline until the node
    /// answers <c>/ready</c> or the start fails (see <see cref="TimelineNow"/>).</summary>
    private void StartInBackground(RealNode node, string why, bool holdsTimeline = true)
    {
        lock (_checkGate)
        {
            _cluster.Stopped.Remove(node.Spec.Name);
        }

        if (holdsTimeline)
        {
            BeginHold();
        }

        Track(StartAsync(node, why, holdsTimeline));
    }

    private async Task StartAsync(RealNode node, string why, bool holdsTimeline)
    {
        var kills = node.Kills;
        var started = Now;
        try
        {
            await node.StartAsync(_http, _options.StartTimeout, Token);
            HostChanged(HostChange.NodeStarted, node);
            _streams!.Follow(node);
            var joined = !holdsTimeline ? "" : await AwaitJoinAsync(node) switch
            {
                null => ", its join not done within the start timeout",
                { TotalSeconds: < 0.1 } => "",
                { } after => string.Create(CultureInfo.InvariantCulture,
                    $", joined {after.TotalSeconds:0.0}s after /ready"),
            };
            AddTimeline($"{node.Spec.Name}: started ({why}, epoch {node.Epoch}{joined}) after " +
                ScenarioRun.Seconds(Now - started) + (holdsTimeline ? ", the timeline held meanwhile" : ""));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            if (node.Kills != kills)
            {
                // The timeline crashed it while it was still starting: the step's fault, not the node's.
                AddTimeline($"{node.Spec.Name}: start ({why}) interrupted by a crash");
                return;
            }

            Fail($"node start: {node.Spec.Name} ({why})", e.Message);
        }
        finally
        {
            if (holdsTimeline)
            {
                ReleaseHold();
            }
        }
    }

    /// <summary>
    /// Waits (bounded by the start timeout) until the node's first SWIM join sync is done (<c>/api/status</c>
    /// <c>awaitingJoin</c> false): until then it refuses <c>all</c>/<c>quorum</c> writes. Simulated, the join takes
    /// milliseconds after the start; a loaded real node needs seconds after <c>/ready</c>. How long it took; null:
    /// not within the bound (or the node stopped).
    /// </summary>
    private async Task<TimeSpan?> AwaitJoinAsync(RealNode node)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < _options.StartTimeout && node.Running)
        {
            try
            {
                var status = await _http.GetFromJsonAsync<JsonElement>(new Uri(node.Spec.Url, "api/status"), Token);
                if (!status.TryGetProperty("awaitingJoin", out var awaiting) || !awaiting.GetBoolean())
                {
                    return clock.Elapsed;
                }
            }
            catch (Exception e) when (e is HttpRequestException or JsonException
                or TaskCanceledException && !Token.IsCancellationRequested)
            {
                // Busy or killed: try again within the bound.
            }

            await Task.Delay(100, Token);
        }

        return null;
    }

    private void BeginHold()
    {
        lock (_gate)
        {
            if (_startsHolding++ == 0)
            {
                _holdSince = Now;
            }
        }
    }

    private void ReleaseHold()
    {
        lock (_gate)
        {
            if (--_startsHolding == 0)
            {
                _heldMicroseconds += Now - _holdSince;
            }
        }
    }

    private Task RestartIfDown(RealNode node)
    {
        if (!node.Running && Members.Contains(node))
        {
            StartInBackground(node, "restart after crash");
        }

        return Task.CompletedTask;
    }

    private Task Resume(RealNode node)
    {
        var paused = node.Paused;
        node.Resume();
        if (paused)
        {
            HostChanged(HostChange.NodeResumed, node);
        }

        AddTimeline($"{node.Spec.Name}: resumed");
        return Task.CompletedTask;
    }

    private void Track(Task task)
    {
        lock (_gate)
        {
            _background.RemoveAll(t => t.IsCompleted);
            _background.Add(task);
        }
    }

    /// <summary>Heals every fault: resumes paused nodes, removes cuts and link shaping, starts every crashed
    /// member that is not stopped, and waits (bounded) for them.</summary>
    private async Task HealAllAsync()
    {
        _lab?.Heal();
        if (_lab is { NetemUnavailable: null })
        {
            for (var i = 0; i < _names.Count; i++)
            {
                _lab.Shape(i, NetemArguments(_scenario.Network));
            }
        }

        LinksChanged(t =>
        {
            t.Heal();
            t.ShapeLinks(_lab is { NetemUnavailable: null } ? _scenario.Network.Loss : 0);
        });
        foreach (var node in Members)
        {
            if (node.Paused)
            {
                node.Resume();
                HostChanged(HostChange.NodeResumed, node);
            }
            if (!node.Running)
            {
                StartInBackground(node, "liveness phase", holdsTimeline: false);
            }
        }

        Task[] pending;
        lock (_gate)
        {
            pending = [.. _background.Where(t => !t.IsCompleted)];
        }

        // Node starts and stops are bounded by their own timeouts; file operations by the request timeout.
        await Task.WhenAll(pending).WaitAsync(StopTimeout + _options.StartTimeout, Token)
            .ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
