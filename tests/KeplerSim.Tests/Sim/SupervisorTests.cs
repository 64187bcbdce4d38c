using System.Text.RegularExpressions;
using KeplerSim.Core;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Tests.Sim;

/// <summary>
/// Failures fail the run (issue 13): every background task in core runs under the node's supervisor, and what
/// escapes one stops a simulation at once, naming the task, the node, the time and the seed.
/// </summary>
[Trait("Category", "Fast")]
public sealed partial class SupervisorTests
{
    [Fact]
    public void An_exception_after_an_await_reaches_the_host_with_the_task_name()
    {
        // Before the supervisor, `_ = XAsync()` dropped this exception with the discarded task.
        var failures = new List<SupervisorFailure>();
        var supervisor = new Supervisor(new NodeId("n1"), failures.Add);
        var gate = new TaskCompletionSource();
        supervisor.Run("test.invariant", async () =>
        {
            await gate.Task;
            Invariant.That(false, "planted invariant");
        });
        Assert.Equal(1, supervisor.Running);
        Assert.Empty(failures);
        gate.SetResult();
        var failure = Assert.Single(failures);
        Assert.Equal("test.invariant", failure.Task);
        Assert.Equal("n1", failure.Node.Value);
        Assert.IsType<InvariantViolationException>(failure.Exception);
        Assert.Contains("background task 'test.invariant' on node n1 failed", failure.ToString(),
            StringComparison.Ordinal);
        Assert.Equal(0, supervisor.Running);
        Assert.Equal(1, supervisor.Failed);
    }

    [Fact]
    public void A_synchronous_throw_a_clean_end_and_a_failure_after_stop()
    {
        var failures = new List<SupervisorFailure>();
        var supervisor = new Supervisor(new NodeId("n1"), failures.Add);
        supervisor.Run("test.sync_throw", () => throw new InvalidOperationException("before any await"));
        supervisor.Run("test.clean", () => Task.CompletedTask);
        Assert.Equal("test.sync_throw", Assert.Single(failures).Task);

        // An orderly stop disposes resources under running tasks: what they throw then is expected.
        var gate = new TaskCompletionSource();
        supervisor.Run("test.after_stop", async () =>
        {
            await gate.Task;
            throw new ObjectDisposedException("metadata");
        });
        supervisor.Stop();
        gate.SetResult();
        Assert.Single(failures);
        Assert.Equal(3, supervisor.Started);
        Assert.Equal(0, supervisor.Running);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Replication.deliver")]
    [InlineData("replication deliver")]
    [InlineData(".deliver")]
    [InlineData("deliver.")]
    [InlineData("a..b")]
    public void Task_names_are_dotted_lower_case_words(string name)
    {
        var supervisor = new Supervisor(new NodeId("n1"), _ => { });
        Assert.Throws<InvariantViolationException>(() => supervisor.Run(name, () => Task.CompletedTask));
        Assert.True(Supervisor.IsValidName("replication.surplus_delete"));
    }

    [Fact]
    public void A_failed_task_stops_the_simulation_at_once_naming_task_node_time_and_seed()
    {
        var (sim, node) = SimHarness.OneIdleNode(seed: 77);
        using var _ = sim;
        sim.Await(node.Spawn(runtime =>
        {
            runtime.Supervisor.Run("test.invariant", async () =>
            {
                await runtime.Clock.DelayAsync(1_000);
                Invariant.That(false, "planted invariant");
            });
            return Task.CompletedTask;
        }), "the task to start");
        // Queued after the task's timer at the same instant: it must never run, the run stops before it.
        var later = false;
        sim.Schedule(1_000 - sim.Now, () => later = true);

        var error = Assert.Throws<SimulationException>(() => sim.RunFor(10 * SimHarness.Second));
        Assert.Equal("test.invariant", error.Task);
        Assert.Equal("n1", error.Node);
        Assert.Equal(1_000, error.TimeMicroseconds);
        Assert.IsType<InvariantViolationException>(error.InnerException);
        Assert.Contains("background task 'test.invariant' on node n1 failed at 0.001000 s (seed 77)", error.Message,
            StringComparison.Ordinal);
        Assert.False(later, "an event after the failure ran");
        Assert.Equal(1_000, sim.Now);
        Assert.Same(error, sim.Failure);
        Assert.Same(error, Assert.Throws<SimulationException>(() => sim.RunFor(SimHarness.Second)));
    }

    [Fact]
    public void An_exception_escaping_a_node_event_names_the_node()
    {
        var (sim, node) = SimHarness.OneIdleNode(seed: 78);
        using var _ = sim;
        sim.Await(node.Spawn(runtime =>
        {
            runtime.Clock.Schedule(500, () => throw new InvalidOperationException("timer bug"));
            return Task.CompletedTask;
        }), "the timer to be set");

        var error = Assert.Throws<SimulationException>(() => sim.RunFor(SimHarness.Second));
        Assert.Equal("n1", error.Node);
        Assert.Null(error.Task);
        Assert.Equal(500, error.TimeMicroseconds);
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Contains("seed 78", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_planted_failure_fires_only_in_the_named_task_on_the_named_node()
    {
        var sim = new Simulation(new SimulationOptions
        {
            Seed = 79,
            PlantedFailure = new PlantedFailure("n2", "test.target", AfterMicroseconds: 2_000),
        });
        using var _ = sim;
        var n1 = sim.AddNode("n1", _ => new IdleProgram());
        var n2 = sim.AddNode("n2", _ => new IdleProgram());
        n1.Start();
        n2.Start();
        var ran = new List<string>();
        void Start(SimNode node, string task) => sim.Await(node.Spawn(runtime =>
        {
            runtime.Supervisor.Run(task, () =>
            {
                ran.Add($"{node.Name}:{task}");
                return Task.CompletedTask;
            });
            return Task.CompletedTask;
        }), $"{task} to start on {node.Name}");

        Start(n2, "test.target"); // Too early.
        sim.RunFor(2_000);
        Start(n1, "test.target"); // Another node.
        Start(n2, "test.other"); // Another task.
        Assert.Null(sim.Failure);
        var error = Assert.Throws<SimulationException>(() => Start(n2, "test.target"));
        Assert.Equal(["n2:test.target", "n1:test.target", "n2:test.other"], ran);
        Assert.Equal("test.target", error.Task);
        Assert.IsType<PlantedFailureException>(error.InnerException);
    }

    /// <summary>
    /// The supervisor is the only way core starts work it does not await: no discarded task (`_ = XAsync()`), no
    /// `async void` (its exception escapes to the synchronization context, unnamed), no `ContinueWith` (it may run
    /// on a foreign thread).
    /// </summary>
    [Fact]
    public void Core_starts_no_unsupervised_background_work()
    {
        var root = Path.Combine(Repo.Root, "core", "KeplerSim.Core");
        var offences = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}",
                         StringComparison.Ordinal)))
        {
            var relative = Path.GetRelativePath(root, file);
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var code = lines[i].Split("//", 2)[0];
                var allowed = relative == Path.Combine("Runtime", "Supervisor.cs")
                              && code.Contains("_ = SuperviseAsync(", StringComparison.Ordinal);
                if (!allowed && (Discard().IsMatch(code) || code.Contains("async void", StringComparison.Ordinal)
                                 || code.Contains(".ContinueWith(", StringComparison.Ordinal)))
                {
                    offences.Add($"{relative}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        Assert.True(offences.Count == 0, "background work outside the supervisor:\n" + string.Join("\n", offences));
    }

    [Fact]
    public void The_source_check_recognises_a_discarded_task()
    {
        Assert.Matches(Discard(), "        _ = ScanAsync();");
        Assert.Matches(Discard(), "() => _ = node.Store.DeleteAsync(chunkId));");
        Assert.DoesNotMatch(Discard(), "var _ = x;");
        Assert.DoesNotMatch(Discard(), "            _pumping = false;");
        Assert.DoesNotMatch(Discard(), "        _ => throw new ProtocolException(\"unexpected first frame\"),");
    }

    [Theory]
    [InlineData(typeof(StreamBrokenException), true)]
    [InlineData(typeof(TimeoutException), true)]
    [InlineData(typeof(IOException), true)]
    [InlineData(typeof(DiskFullException), true)]
    [InlineData(typeof(KeplerSim.Core.Protocol.ProtocolException), true)]
    [InlineData(typeof(InvariantViolationException), false)]
    [InlineData(typeof(InvalidOperationException), false)]
    [InlineData(typeof(NullReferenceException), false)]
    public void The_replication_worker_retries_only_expected_failures(Type type, bool expected)
    {
        // It used to retry every exception ("unexpected X" in the trace), so a bug in a delivery never failed a run.
        var exception = type == typeof(KeplerSim.Core.Protocol.ProtocolException)
            ? new KeplerSim.Core.Protocol.ProtocolException("x")
            : (Exception)Activator.CreateInstance(type, "x")!;
        Assert.Equal(expected, KeplerSim.Core.Replication.ReplicationWorker.IsExpectedFailure(exception));
    }

    [GeneratedRegex(@"(^|[^\w.])_\s*=(?![=>])[^;]*\(")]
    private static partial Regex Discard();
}
