using System.Globalization;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Real;

/// <summary>
/// The <c>clock</c> and <c>disk</c> steps against real nodes, through the node's test-only fault setting
/// (KEPLER_TEST_FAULTS, docs/NODE.md): the driver keeps each node's clock and quota as the simulator's
/// <c>SimClock</c> and disk keep them, hands them to every start in the environment (a simulated node keeps its
/// clock and disk across restarts) and changes a running node's with <c>PUT /api/test/clock</c> and
/// <c>PUT /api/test/disk</c>.
/// </summary>
internal sealed partial class RealScenarioRun
{
    private readonly SortedDictionary<string, TestFaultState> _testFaults = new(StringComparer.Ordinal);

    /// <summary>A node's clock (skew with jumps, drift) and disk quota in bytes.</summary>
    private sealed record TestFaultState(long SkewMicroseconds, double DriftPpm, long CapacityBytes)
    {
        public string Setting => string.Create(CultureInfo.InvariantCulture,
            $"clock_skew_us={SkewMicroseconds},clock_drift_ppm={DriftPpm:R},disk_capacity_bytes={CapacityBytes}");
    }

    /// <summary>Whether the file needs the nodes' test faults: a clock profile, a clock step or a disk step. A
    /// file without them runs nodes exactly as deployed.</summary>
    private bool NeedsTestFaults => _scenario.Clock.SkewMax.Microseconds != 0 || _scenario.Clock.DriftMaxPpm != 0
        || _scenario.Steps.Any(s => s.Kind is StepKind.Clock or StepKind.Disk);

    /// <summary>Gives every node its start clock (the simulator's draw from the run's seed and the file's clock
    /// profile) and the file's disk capacity.</summary>
    private void SetUpTestFaults()
    {
        if (!NeedsTestFaults)
        {
            return;
        }

        foreach (var (name, node) in _nodes)
        {
            var (skew, drift) = SimClock.Initial(_seed, _scenario.Clock.ToFaults(), name);
            SetTestFaults(node, new TestFaultState(skew, drift, _scenario.Disk.ToFaults().CapacityBytes));
        }
    }

    private void SetTestFaults(RealNode node, TestFaultState state)
    {
        _testFaults[node.Spec.Name] = state;
        node.Set("KEPLER_TEST_FAULTS", state.Setting);
    }

    /// <summary>A clock step, as <c>ScenarioRun</c> performs it: the jump, then skew and drift outright.</summary>
    private Task ChangeClock(ScenarioStep step)
    {
        var sends = new List<Task>();
        var query = new List<string>();
        AddQuery(query, "jump_us", step.Jump?.Microseconds);
        AddQuery(query, "skew_us", step.Skew?.Microseconds);
        AddQuery(query, "drift_ppm", step.DriftPpm);
        foreach (var node in step.Nodes.Select(Node))
        {
            var state = _testFaults[node.Spec.Name];
            state = state with { SkewMicroseconds = state.SkewMicroseconds + (step.Jump?.Microseconds ?? 0) };
            state = state with
            {
                SkewMicroseconds = step.Skew?.Microseconds ?? state.SkewMicroseconds,
                DriftPpm = step.DriftPpm ?? state.DriftPpm,
            };
            SetTestFaults(node, state);
            lock (_checkGate)
            {
                _eventCheckers?.OnClockChange(node.Spec.Name, step.Jump?.Microseconds, step.Skew?.Microseconds);
            }

            sends.Add(PutTestFaultAsync(step, node, "api/test/clock?" + string.Join("&", query)));
        }

        Count("faults.clock");
        return AppliedAsync(sends);
    }

    /// <summary>A disk step: the node's quota becomes the step's capacity.</summary>
    private Task ChangeDisk(ScenarioStep step)
    {
        var capacity = step.DiskChange!.ToFaults().CapacityBytes;
        var sends = new List<Task>();
        foreach (var node in step.Nodes.Select(Node))
        {
            SetTestFaults(node, _testFaults[node.Spec.Name] with { CapacityBytes = capacity });
            sends.Add(PutTestFaultAsync(step, node,
                string.Create(CultureInfo.InvariantCulture, $"api/test/disk?capacity_bytes={capacity}")));
        }

        Count("faults.disk");
        return AppliedAsync(sends);
    }

    /// <summary>
    /// Holds the timeline until the nodes answered the change: a simulated fault takes effect at its instant, and a
    /// put 500 ms after a disk step once reached a loaded node before the quota did (and was stored). A paused node
    /// answers only after its resume, so its change is not waited for.
    /// </summary>
    private async Task AppliedAsync(List<Task> sends)
    {
        BeginHold();
        try
        {
            await Task.WhenAll(sends);
        }
        finally
        {
            ReleaseHold();
        }
    }

    /// <summary>Why a disk step cannot be performed in full: real mode sets only the quota.</summary>
    private string? DiskNotMapped(ScenarioStep step)
    {
        var (change, profile) = (step.DiskChange!.ToFaults(), _scenario.Disk.ToFaults());
        return change with { CapacityBytes = profile.CapacityBytes } == profile ? null
            : "a real node's disk takes only a capacity (its quota); latency, slowness, I/O errors and write " +
              "corruption have no real counterpart";
    }

    private static void AddQuery(List<string> query, string name, object? value)
    {
        if (value is not null)
        {
            query.Add(string.Create(CultureInfo.InvariantCulture, $"{name}={value}"));
        }
    }

    /// <summary>Sends a test fault to a running node (a down one gets it at its next start, from the environment);
    /// a refusal fails the step.</summary>
    private async Task PutTestFaultAsync(ScenarioStep step, RealNode node, string pathAndQuery)
    {
        if (!node.Running)
        {
            AddTimeline($"{node.Spec.Name} is down: it gets the {step.Kind.ToString().ToLowerInvariant()} change " +
                "when it starts");
            return;
        }

        if (node.Paused)
        {
            Track(SendTestFaultAsync(step, node, pathAndQuery));
            return;
        }

        await SendTestFaultAsync(step, node, pathAndQuery);
    }

    private async Task SendTestFaultAsync(ScenarioStep step, RealNode node, string pathAndQuery)
    {
        try
        {
            using var response = await _http.PutAsync(new Uri(node.Spec.Url, pathAndQuery), null, Token);
            var body = await response.Content.ReadAsStringAsync(Token);
            if (!response.IsSuccessStatusCode)
            {
                Fail($"step {step.Index} at {step.At}: {step.Describe()}",
                    $"{node.Spec.Name} answered {(int)response.StatusCode}: {body}");
                return;
            }

            AddTimeline($"{node.Spec.Name}: {pathAndQuery} -> {body}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !Token.IsCancellationRequested)
        {
            // Killed meanwhile: its next start takes the change from the environment.
            AddTimeline($"{node.Spec.Name}: {pathAndQuery} not answered ({e.Message}); its next start has it");
        }
    }
}
