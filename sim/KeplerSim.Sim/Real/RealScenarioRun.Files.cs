using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using KeplerSim.Core.Node;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Real;

internal sealed partial class RealScenarioRun
{
    private long _contentSequence;

    private byte[] Content(long size) => WorkloadContent.Bytes(_seed, _contentSequence++, size);

    /// <summary>Issues a file operation over HTTP; its outcome is written into the returned op when it completes.
    /// </summary>
    private FileOp Issue(FileOpKind kind, string path, RealNode node, byte[]? content, Durability durability,
        bool record, Action<FileOp>? done = null, long? abortAfter = null)
    {
        var hash = content is null ? null : WorkloadContent.Hash(content);
        FileOp op;
        lock (_gate)
        {
            op = record
                ? _ledger.Begin(kind, path, node.Spec.Name, node.Epoch, Now, hash, content?.Length ?? 0)
                : new FileOp { Kind = kind, Path = path, Node = node.Spec.Name, Epoch = node.Epoch, IssuedAt = Now };
        }

        if (!node.Running)
        {
            Complete(op, "error", "node is down", null, done);
            return op;
        }

        Track(ExecuteAsync(op, node, node.Kills, content, durability, abortAfter, done));
        return op;
    }

    private void Complete(FileOp op, string outcome, string? detail, string? version, Action<FileOp>? done)
    {
        lock (_gate)
        {
            op.Complete(Now, outcome, detail, version);
        }

        done?.Invoke(op);
    }

    private async Task ExecuteAsync(FileOp op, RealNode node, int kills, byte[]? content, Durability durability,
        long? abortAfter, Action<FileOp>? done)
    {
        var (outcome, detail, version) = await SendAsync(op.Kind, op.Path, node, content, durability, abortAfter);
        // A request whose node was killed meanwhile never completes in the simulator: the crash orphans it. The
        // kill count is raised before the signal, so a connection reset seen while the kill is still under way (the
        // process not yet reaped) is the kill's too, not a client error (key-rotation counted 4 such put errors).
        if (outcome == "error" && (node.Kills != kills || node.Epoch != op.Epoch || !node.Running))
        {
            return;
        }

        Complete(op, outcome, detail, version, done);
    }

    private async Task<(string Outcome, string? Detail, string? Version)> SendAsync(FileOpKind kind, string path,
        RealNode node, byte[]? content, Durability durability, long? abortAfter)
    {
        var escaped = string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
        var level = durability.ToString().ToLowerInvariant();
        using var request = kind switch
        {
            FileOpKind.Put => new HttpRequestMessage(HttpMethod.Put, new Uri(node.Spec.Url,
                $"api/files/{escaped}?durability={level}"))
            {
                Content = new StreamContent(abortAfter is { } cut ? new AbortingStream(content!, cut)
                    : new MemoryStream(content!, writable: false)),
            },
            FileOpKind.Get => new HttpRequestMessage(HttpMethod.Get, new Uri(node.Spec.Url, $"api/files/{escaped}")),
            FileOpKind.Delete => new HttpRequestMessage(HttpMethod.Delete, new Uri(node.Spec.Url,
                $"api/files/{escaped}?durability={level}")),
            _ => new HttpRequestMessage(HttpMethod.Get, new Uri(node.Spec.Url,
                $"api/files/?prefix={Uri.EscapeDataString(path)}&limit=1024")),
        };
        try
        {
            using var response = await _http.SendAsync(request, Token);
            return await OutcomeAsync(kind, response);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException
            or JsonException)
        {
            return ("error", $"{e.GetType().Name}: {e.Message}", null);
        }
    }

    private async Task<(string Outcome, string? Detail, string? Version)> OutcomeAsync(FileOpKind kind,
        HttpResponseMessage response)
    {
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return ("not_found", null, null);
        }

        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(Token);
            var code = TryCode(body);
            // The simulator names the exception; the node answers its code (503 durability_not_met).
            var name = code == "durability_not_met" ? nameof(DurabilityNotMetException)
                : $"HTTP {(int)response.StatusCode}";
            return ("error", $"{name}: {code ?? body}", null);
        }

        switch (kind)
        {
            case FileOpKind.Get:
                var bytes = await response.Content.ReadAsByteArrayAsync(Token);
                return ("ok", WorkloadContent.Hash(bytes), null);
            case FileOpKind.List:
                var listing = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
                return ("ok", listing.GetProperty("files").GetArrayLength().ToString(CultureInfo.InvariantCulture),
                    null);
            default:
                var info = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
                return ("ok", null, info.GetProperty("version").GetString());
        }
    }

    private static string? TryCode(string body)
    {
        try
        {
            return JsonSerializer.Deserialize<JsonElement>(body).GetProperty("code").GetString();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private void RunFileStep(ScenarioStep step)
    {
        var node = Node(step.Nodes[0]);
        var kind = StepJudge.KindOf(step.Kind);
        var content = kind != FileOpKind.Put ? null
            : step.Content is { } text ? Encoding.UTF8.GetBytes(text) : Content(step.Size.Bytes);
        string? expected;
        lock (_gate)
        {
            expected = kind == FileOpKind.Get ? _ledger.LatestPutHash(step.Path) : null;
        }

        var op = Issue(kind, step.Path, node, content, step.Durability, record: kind != FileOpKind.List,
            done: o => AddTimeline($"{step.Describe()} -> {o.Outcome} " +
                $"({ScenarioRun.Seconds(o.CompletedAt!.Value - o.IssuedAt)})"),
            abortAfter: step.AbortAfter?.Bytes);
        lock (_gate)
        {
            _stepOps.Add((step, op, expected));
        }
    }

    private void AddTimelineIf(bool condition, string text)
    {
        if (condition)
        {
            AddTimeline(text);
        }
    }

    /// <summary>The simulator's workload generator (same seeded arrivals, paths, sizes and nodes), in wall time.
    /// </summary>
    private void StartWorkload(WorkloadSpec w)
    {
        var draws = new WorkloadDraws(_seed, w, w.Nodes ?? _scenario.Cluster.NodeNames());
        var stop = (w.Stop ?? _scenario.Duration).Microseconds;
        var pending = new List<FileOp>();
        // Arrival times are the simulated ones: each gap counts from the previous arrival's due time, not from when
        // a loaded driver got round to it (that lateness once added up to 16 of 186 arrivals in key-rotation).
        var due = w.Start.Microseconds + draws.NextGap();
        Task Arrive()
        {
            if (due >= stop)
            {
                return Task.CompletedTask;
            }

            var (kind, path, name, size) = draws.Next();
            var node = Node(name);
            lock (_gate)
            {
                pending.RemoveAll(o => o.Outcome is not null || Node(o.Node).Epoch != o.Epoch);
            }

            if (!node.Running)
            {
                Count("ops.skipped_node_down");
            }
            else if (pending.Count >= w.InFlightMax)
            {
                Count("ops.skipped_in_flight_max");
            }
            else
            {
                // A workload error is named in the timeline: which request failed and how says whether it was load,
                // the driver or the protocol (the simulator's trace has that; a real run has only this).
                pending.Add(Issue(kind, path, node, kind == FileOpKind.Put ? Content(size) : null, w.Durability,
                    record: true, done: o => AddTimelineIf(o.Outcome == "error", $"{w.Name}: " +
                        $"{kind.ToString().ToLowerInvariant()} {path} on {name} -> error ({o.Detail})")));
            }

            due += draws.NextGap();
            ScheduleAt(due, Arrive);
            return Task.CompletedTask;
        }

        ScheduleAt(due, Arrive);
    }
}
