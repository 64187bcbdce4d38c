using System.Globalization;
using System.Text;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

internal sealed partial class ScenarioRun
{
    private const int FinalReadPathsMax = 2_000;
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
        var kind = step.Kind switch
        {
            StepKind.Put => FileOpKind.Put,
            StepKind.Get => FileOpKind.Get,
            StepKind.Delete => FileOpKind.Delete,
            _ => FileOpKind.List,
        };
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
            var name = $"step {step.Index} at {step.At}: {step.Describe()} expect {Names.Snake(step.Expect.ToString())}"
                + (step.ExpectCount is { } n ? $" count {n}" : "");
            var seen = op.Outcome is null ? "did not complete (its node crashed, or it is still pending)"
                : op.Outcome + (op.Detail is { } d ? $" ({(d.Length == 64 ? "sha256 " + d[..12] : d)})" : "");
            var pass = step.Expect == ExpectedOutcome.Any || (op.Outcome is not null && step.Expect switch
            {
                ExpectedOutcome.Ok => op.Outcome == "ok" && (step.ExpectCount is null
                    || op.Detail == step.ExpectCount.Value.ToString(CultureInfo.InvariantCulture)),
                ExpectedOutcome.NotFound => op.Outcome == "not_found",
                ExpectedOutcome.Error => op.Outcome == "error",
                ExpectedOutcome.DurabilityNotMet => op.Outcome == "error"
                    && op.Detail?.StartsWith(nameof(DurabilityNotMetException) + ":", StringComparison.Ordinal) == true,
                _ => op.Outcome == "ok" && op.Detail == expectedHash,
            });
            if (step.Expect == ExpectedOutcome.Equal && !pass && op.Outcome == "ok")
            {
                seen += $"; the put wrote sha256 {expectedHash?[..12]}";
            }

            results.Add((step.Index, new Expectation(name, pass ? ExpectationStatus.Pass : ExpectationStatus.Fail,
                seen)));
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
        var random = new DeterministicRandom(DeterministicRandom.Derive(_seed, "workload/" + w.Name));
        var stop = (w.Stop ?? _scenario.Duration).Microseconds;
        var nodes = w.Nodes ?? _scenario.Cluster.NodeNames();
        var pending = new List<FileOp>();
        var total = w.Puts + w.Gets + w.Deletes;
        long Gap() => Math.Max(1, (long)(-Math.Log(1 - random.NextDouble()) / w.Rate * 1_000_000));
        void Arrive()
        {
            if (_sim.Now >= stop)
            {
                return;
            }

            var pick = random.NextDouble() * total;
            var kind = pick < w.Puts ? FileOpKind.Put : pick < w.Puts + w.Gets ? FileOpKind.Get : FileOpKind.Delete;
            var path = $"{w.Name}/{random.NextInt(w.Paths)}";
            var node = Node(nodes[random.NextInt(nodes.Count)]);
            var min = Math.Max(1, w.SizeMin.Bytes);
            var size = (long)Math.Round(Math.Exp(Math.Log(min) + random.NextDouble() *
                (Math.Log(Math.Max(min, w.SizeMax.Bytes)) - Math.Log(min))));
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

            _sim.Schedule(Gap(), Arrive);
        }

        _sim.Schedule(w.Start.Microseconds + Gap(), Arrive);
    }

    /// <summary>
    /// Reads every path with an acknowledged write from every live node and checks each answer against the
    /// ledger's allowed results, and that all nodes answer the same.
    /// </summary>
    private Expectation CheckAcknowledgedReads()
    {
        const string name = InvariantCatalog.AcknowledgedWritesReadable;
        var paths = _ledger.AcknowledgedPaths().Take(FinalReadPathsMax).ToList();
        var allowed = paths.ToDictionary(p => p, p => _ledger.Allowed(p)!, StringComparer.Ordinal);
        var live = _context.Live;
        var reads = new List<FileOp>();
        foreach (var path in paths)
        {
            reads.AddRange(live.Select(node => Issue(FileOpKind.Get, path, node, null, Durability.Fast,
                record: false)));
        }

        var done = _sim.RunUntil(() => reads.All(r => r.Outcome is not null), FinalReadTimeoutMicroseconds);
        var problems = new List<string>();
        foreach (var group in reads.GroupBy(r => r.Path, StringComparer.Ordinal))
        {
            var rule = allowed[group.Key];
            foreach (var read in group)
            {
                var fine = (read.Outcome == "ok" && rule.Hashes.Contains(read.Detail!))
                    || (read.Outcome == "not_found" && rule.NotFoundAllowed)
                    || KeptUnderConcurrentWinner(read, rule);
                if (!fine)
                {
                    var got = read.Outcome is null ? "no answer" : read.Outcome + (read.Outcome == "ok"
                        ? " sha256 " + read.Detail![..12] : read.Detail is { } d ? ": " + d : "");
                    problems.Add($"{group.Key} on {read.Node}: {got}, expected " + Describe(rule));
                }
            }

            if (group.Select(r => r.Outcome + r.Detail).Distinct(StringComparer.Ordinal).Count() > 1)
            {
                problems.Add($"{group.Key}: nodes disagree");
            }
        }

        var summary = $"{paths.Count} path(s) x {live.Count} node(s), {reads.Count} reads" +
            (done ? "" : $", some unanswered after {Seconds(FinalReadTimeoutMicroseconds)}");
        return problems.Count == 0
            ? new Expectation(name, ExpectationStatus.Pass, summary)
            : new Expectation(name, ExpectationStatus.Fail, $"{summary}; {problems.Count} problem(s): " +
                InvariantChecks.Examples(problems));
    }

    /// <summary>
    /// A write acknowledged earlier in real time may still win over L when the two were concurrent (no causal
    /// link: a partition, skewed clocks): the highest token wins and L must then stay as a conflict version. So the
    /// read is fine if it returned a version some put or delete of the path wrote, the node keeps L's version and
    /// its winner's token is higher than L's.
    /// </summary>
    private bool KeptUnderConcurrentWinner(FileOp read, AllowedRead rule)
    {
        var written = read.Outcome == "not_found" || (read.Outcome == "ok" && _ledger.Ops.Any(o =>
            o.Kind == FileOpKind.Put && o.Path == read.Path && o.ContentHash == read.Detail));
        return written
            && rule.LastAcknowledged.Version is { } text && ClusterInspector.ParseVersion(text) is { } version
            && ClusterInspector.VersionState(Node(read.Node), read.Path, version) is { Kept: true, Winner: { } winner }
            && winner > version;
    }

    private static string Describe(AllowedRead rule) =>
        string.Join(" or ", rule.Hashes.Select(h => "sha256 " + h[..12]).Concat(rule.NotFoundAllowed
            ? ["not_found"] : []))
                + $" (last acknowledged: {rule.LastAcknowledged.Kind.ToString().ToLowerInvariant()} " +
        $"at {Seconds(rule.LastAcknowledged.IssuedAt)} on {rule.LastAcknowledged.Node})";
}
