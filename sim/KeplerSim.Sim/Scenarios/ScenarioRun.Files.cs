using System.Globalization;
using System.Text;
using KeplerSim.Core.Node;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

internal sealed partial class ScenarioRun
{
    private const long FinalReadTimeoutMicroseconds = 30_000_000;
    private long _contentSequence;

    private byte[] Content(long size) => WorkloadContent.Bytes(_seed, _contentSequence++, size);

    /// <summary>
    /// Issues a file operation on <paramref name="node"/>'s logical thread; its outcome is written into the
    /// returned <see cref="FileOp"/> when it completes (never, if the node crashes first).
    /// </summary>
    private FileOp Issue(FileOpKind kind, string path, SimNode node, byte[]? content, Durability durability,
        bool record, Action<FileOp>? done = null, long? abortAfter = null)
    {
        var hash = content is null ? null : WorkloadContent.Hash(content);
        var op = record
            ? _ledger.Begin(kind, path, node.Name, node.Epoch, _sim.Now, hash, content?.Length ?? 0)
            : new FileOp { Kind = kind, Path = path, Node = node.Name, Epoch = node.Epoch, IssuedAt = _sim.Now };
        if (node.Runtime is null)
        {
            op.Complete(_sim.Now, "error", "node is down");
            done?.Invoke(op);
            return op;
        }

        _ = node.Spawn(async _ =>
        {
            // The node takes the request now: a put on a ready node computes the copies it needs before its first wait.
            op.MarkBegun(_sim.Now, _eventCheckers?.Seen ?? 0);
            var (outcome, detail, version) = await Execute(node, kind, path, content, durability, abortAfter);
            op.Complete(_sim.Now, outcome, detail, version);
            done?.Invoke(op);
            return true;
        });
        return op;
    }

    private static async Task<(string Outcome, string? Detail, string? Version)> Execute(SimNode node,
        FileOpKind kind, string path, byte[]? content, Durability durability, long? abortAfter)
    {
        if (node.Program is not IFileService files)
        {
            return ("error", "the protocol offers no file API", null);
        }

        try
        {
            switch (kind)
            {
                case FileOpKind.Put:
                    var put = await files.PutAsync(path, abortAfter is { } cut
                        ? new AbortingStream(content!, cut) : new MemoryStream(content!, writable: false), durability);
                    return ("ok", null, put.Version);
                case FileOpKind.Get:
                    using (var buffer = new MemoryStream())
                    {
                        await files.GetAsync(path, buffer);
                        return ("ok", WorkloadContent.Hash(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)), null);
                    }

                case FileOpKind.Delete:
                    var tombstone = await files.DeleteAsync(path, durability);
                    return ("ok", null, tombstone.Version);
                default:
                    var list = await files.ListAsync(path);
                    return ("ok", list.Files.Count.ToString(CultureInfo.InvariantCulture), null);
            }
        }
        catch (FileNotFoundInClusterException)
        {
            return ("not_found", null, null);
        }
        catch (Exception e) when (e is not Core.InvariantViolationException)
        {
            return ("error", $"{e.GetType().Name}: {e.Message}", null);
        }
    }

    private void RunFileStep(ScenarioStep step)
    {
        var node = Node(step.Nodes[0]);
        var kind = StepJudge.KindOf(step.Kind);
        var content = kind != FileOpKind.Put ? null
            : step.Content is { } text ? Encoding.UTF8.GetBytes(text) : Content(step.Size.Bytes);
        var expected = kind == FileOpKind.Get ? _ledger.LatestPutHash(step.Path) : null;
        var op = Issue(kind, step.Path, node, content, step.Durability, record: kind != FileOpKind.List,
            done: o => AddTimeline($"{step.Describe()} -> {o.Outcome} ({Seconds(o.CompletedAt!.Value - o.IssuedAt)})"),
            abortAfter: step.AbortAfter?.Bytes);
        _stepOps.Add(new StepOp(step, op, expected));
    }

    private void EvaluateSteps()
    {
        var results = new List<(int Index, Expectation Result)>(_waitResults);
        foreach (var (step, op, expectedHash) in _stepOps)
        {
            results.Add((step.Index, StepJudge.Result(step, op, expectedHash)));
        }

        foreach (var (_, result) in results.OrderBy(r => r.Index))
        {
            _expectations.Add(result);
        }

        foreach (var step in _scenario.Steps.Where(s => s.Kind == StepKind.WaitUntil
            && !_waitResults.Any(w => w.Index == s.Index)))
        {
            Fail($"step {step.Index} at {step.At}: {step.Describe()}", "never evaluated (the run stopped early)");
        }
    }

    private void StartWorkload(WorkloadSpec w)
    {
        var draws = new WorkloadDraws(_seed, w, w.Nodes ?? _scenario.Cluster.NodeNames());
        var stop = (w.Stop ?? _scenario.Duration).Microseconds;
        var pending = new List<FileOp>();
        void Arrive()
        {
            if (_sim.Now >= stop)
            {
                return;
            }

            var (kind, path, name, size) = draws.Next();
            var node = Node(name);
            pending.RemoveAll(o => o.Outcome is not null || Node(o.Node).Epoch != o.Epoch);
            if (node.State == SimNodeState.Down)
            {
                Count("ops.skipped_node_down");
            }
            else if (pending.Count >= w.InFlightMax)
            {
                Count("ops.skipped_in_flight_max");
            }
            else
            {
                pending.Add(Issue(kind, path, node, kind == FileOpKind.Put ? Content(size) : null, w.Durability,
                    record: true));
            }

            _sim.Schedule(draws.NextGap(), Arrive);
        }

        _sim.Schedule(w.Start.Microseconds + draws.NextGap(), Arrive);
    }

    /// <summary>
    /// Reads every path with an acknowledged write from the live nodes (<see cref="AcknowledgedReads.Plan{T}"/>)
    /// and checks each answer against the ledger's allowed results, and that all nodes answer the same.
    /// </summary>
    private Expectation CheckAcknowledgedReads()
    {
        const string name = InvariantCatalog.AcknowledgedWritesReadable;
        var paths = _ledger.AcknowledgedPaths().Take(AcknowledgedReads.PathsMax).ToList();
        var allowed = paths.ToDictionary(p => p, p => _ledger.Allowed(p)!, StringComparer.Ordinal);
        var reads = AcknowledgedReads.Plan(paths, _context.Live, out var nodes).Select(r =>
            Issue(FileOpKind.Get, r.Path, r.Node, null, Durability.Fast, record: false)).ToList();

        // Asked after every event: a read, once answered, stays answered, so the scan resumes where it stopped
        // (reads.All from the start each time cost the reads' count per event).
        var answered = 0;
        var done = _sim.RunUntil(() =>
        {
            while (answered < reads.Count && reads[answered].Outcome is not null)
            {
                answered++;
            }

            return answered == reads.Count;
        }, FinalReadTimeoutMicroseconds);
        var problems = reads.GroupBy(r => r.Path, StringComparer.Ordinal).SelectMany(group =>
            AcknowledgedReads.Problems(group.Key, group, allowed[group.Key], _ledger,
                n => _context.Cluster.Nodes.First(c => c.Name == n))).ToList();

        var summary = $"{paths.Count} path(s) x {nodes} node(s), {reads.Count} reads" +
            (done ? "" : $", some unanswered after {Seconds(FinalReadTimeoutMicroseconds)}");
        return problems.Count == 0
            ? new Expectation(name, ExpectationStatus.Pass, summary)
            : new Expectation(name, ExpectationStatus.Fail, $"{summary}; {problems.Count} problem(s): " +
                InvariantChecks.Examples(problems));
    }
}
