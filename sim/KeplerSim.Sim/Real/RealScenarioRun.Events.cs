using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Real;

/// <summary>
/// Real mode's side of the event checkers (<see cref="EventCheckers"/>, the simulator's rules): each node's
/// <c>/api/events</c> stream feeds them as events arrive, and the state they read is read then (the nodes' files
/// and <c>meta.db</c>); the driver reports the faults it performs (<see cref="HostChanged"/>) so the membership
/// judges know who ran and which links worked. Two allowances for the lag between an event and its check, both
/// stated in the report: a violation of a check that reads state is excused when the driver itself damaged or
/// took down a node since <see cref="EventToleranceMicroseconds"/> before the event arrived (its own fault, not the
/// protocol's), and the membership judges widen their windows back by the same tolerance.
/// </summary>
internal sealed partial class RealScenarioRun
{
    /// <summary>
    /// The slop allowed between the driver's clock and what the nodes saw: a signal taking effect, a route installed,
    /// a restarted node's <c>/ready</c> noticed, an event flushed over HTTP and read (milliseconds each when idle,
    /// hundreds under load on two shared cores).
    /// </summary>
    public const long EventToleranceMicroseconds = 1_000_000;

    private static readonly string[] StateAtEvent =
    [
        InvariantCatalog.CopiesDurableAtAck, InvariantCatalog.NoIntactCopyCondemned,
        InvariantCatalog.OrphansKeepAckedCopies, InvariantCatalog.ReplicasDurableAndVerified,
    ];

    private static readonly string[] EventJudged =
    [
        .. StateAtEvent, InvariantCatalog.NoFalseDead, InvariantCatalog.NoFalseSuspicion,
        InvariantCatalog.NoGarbageChurn,
    ];

    private readonly List<(long At, string What)> _driverFaults = [];
    private RealReachability? _truth;
    private EventCheckers? _eventCheckers;
    private RealEventStreams? _streams;
    private long _eventArrivedAt;
    private long _excused;

    /// <summary>The event checkers over the declared safety invariants, fed before time 0.</summary>
    private void CreateEventCheckers()
    {
        var declared = new SortedSet<string>(Declared(InvariantPhase.Safety), StringComparer.Ordinal);
        _truth = new RealReachability((_cluster.Options.Swim ?? new Core.Membership.SwimOptions())
            .AwarenessMaxMultiplier);
        _eventCheckers = new EventCheckers(_cluster, _truth, declared, OnEventViolation, _truth.ProberViewOf,
            EventToleranceMicroseconds) { InitialSkewMaxMicroseconds = _scenario.Clock.SkewMax.Microseconds };
        _streams = new RealEventStreams(() => Now, DeliverAsync, SubscribedAsync);
    }

    /// <summary>Follows the initial nodes' streams and waits (bounded) until each is subscribed: time 0 comes
    /// after, so no event of the timeline is missed.</summary>
    private async Task<string> FollowInitialAsync(IReadOnlyList<string> initial)
    {
        foreach (var name in initial)
        {
            HostChanged(HostChange.NodeStarted, _nodes[name]);
            _streams!.Follow(_nodes[name]);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!_streams!.AllSubscribed && clock.Elapsed < _options.StartTimeout)
        {
            await Task.Delay(50, Token);
        }

        return _streams.AllSubscribed ? "every event stream followed" : "an event stream not followed in time";
    }

    /// <summary>Reports a change the driver made (or saw: a node ready) to the membership judges, right after it.
    /// </summary>
    private void HostChanged(HostChange change, RealNode node)
    {
        lock (_gate) // The checks read the ledger, which the workloads write under _gate.
        lock (_checkGate)
        {
            switch (change)
            {
                case HostChange.NodeStarted:
                    _truth!.Ready(node.Spec.Name);
                    break;
                case HostChange.NodeCrashed:
                    _truth!.Down(node.Spec.Name);
                    _driverFaults.Add((Now, $"kill or stop of {node.Spec.Name}"));
                    break;
            }

            _eventCheckers!.OnCompletedChange(change, node.Spec.Name, Now);
        }
    }

    /// <summary>Reports a change of the links (cuts, heals, shaping), made by <paramref name="change"/>.</summary>
    private void LinksChanged(Action<RealReachability> change)
    {
        lock (_gate) // The checks read the ledger, which the workloads write under _gate.
        lock (_checkGate)
        {
            change(_truth!);
            _eventCheckers!.OnCompletedChange(HostChange.Partition, "-", Now);
        }
    }

    /// <summary>Notes a fault the driver performed on a node's files or disk (the checks do not blame the protocol
    /// for it).</summary>
    private void NoteDriverFault(string what)
    {
        lock (_checkGate)
        {
            _driverFaults.Add((Now, what));
        }
    }

    private async Task DeliverAsync(RealNode node, CheckedEvent e)
    {
        // The ring the node places over now: the event says it changed, not to what (read right after, so a change
        // in between is missed; copies on owners of a missed view are not counted).
        var ring = e.Kind == "ring.changed" ? await RingOfAsync(node) : null;
        if (_options.BeforeEventCheck is { } hook)
        {
            await hook(e, _nodes.ToDictionary(n => n.Key, n => n.Value.Spec.DataDir, StringComparer.Ordinal));
        }

        lock (_gate)
        lock (_checkGate)
        {
            if (ring is not null && _cluster.Find(node.Spec.Name) is RealCheckedNode real)
            {
                real.Ring = ring.Split(',', StringSplitOptions.RemoveEmptyEntries);
            }

            if (MemberEventRecord.Of(e) is { } member)
            {
                _truth!.Note(member);
            }

            _eventArrivedAt = e.At;
            _eventCheckers!.OnEvent(e);
            Count("events." + e.Kind); // As the simulator counts them (what a lost event misses, Incomplete says).
        }
    }

    /// <summary>
    /// After a (re)subscription: what the node knew before it, from <c>/api/members</c> (its ring, and each member
    /// it holds alive, fed as a <c>member.alive</c> it published then): events before the subscription are not in
    /// the stream, and an acknowledgement counts the members its acceptor had heard of.
    /// </summary>
    private async Task SubscribedAsync(RealNode node, CancellationToken cancel)
    {
        JsonElement members;
        try
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            bound.CancelAfter(TimeSpan.FromSeconds(5));
            members = await _http.GetFromJsonAsync<JsonElement>(new Uri(node.Spec.Url, "api/members"), bound.Token);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return; // The stream still follows; the acknowledgements judged count fewer members (never more).
        }

        if (members.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        var name = node.Spec.Name;
        lock (_gate)
        lock (_checkGate)
        {
            if (_cluster.Find(name) is RealCheckedNode real)
            {
                real.Ring = [.. members.EnumerateArray().Where(m => m.TryGetProperty("inRing", out var r)
                    && r.ValueKind == JsonValueKind.True).Select(m => m.GetProperty("id").GetString() ?? "")
                    .Order(StringComparer.Ordinal)];
            }

            foreach (var member in members.EnumerateArray().Where(m => Text(m, "state") == "alive"
                && Text(m, "id") is { } id && id != name))
            {
                var fields = new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    ["Member"] = Text(member, "id")!, ["Incarnation"] = "0", ["Previous"] = "subscribed",
                };
                var e = new CheckedEvent(name, "member.alive", Now, f => fields.GetValueOrDefault(f));
                _truth!.Note(MemberEventRecord.Of(e)!);
                _eventArrivedAt = e.At;
                _eventCheckers!.OnEvent(e);
            }
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString() : null;

    /// <summary>A violation an event check found (called under <c>_gate</c> and the check lock, in that order, as
    /// everywhere: the checks read the ledger the workloads write under <c>_gate</c>).</summary>
    private void OnEventViolation(string name, string detail)
    {
        if (name == InvariantCatalog.NoFalseDead)
        {
            Count(ScenarioRun.FalseDeadMetric);
            if (_scenario.Expect.Metrics.ContainsKey(ScenarioRun.FalseDeadMetric))
            {
                return; // The scenario bounds false deaths itself (e.g. under heavy loss).
            }
        }

        if (StateAtEvent.Contains(name) && DriverFaultNear(_driverFaults, _eventArrivedAt) is { } fault)
        {
            _excused++;
            AddTimeline($"{name} not judged at {ScenarioRun.Seconds(Now)}: the driver's own {fault} came within " +
                $"{ScenarioRun.Seconds(EventToleranceMicroseconds)} before the event ({detail})");
            return;
        }

        if (!_safetyViolations.ContainsKey(name))
        {
            _safetyViolations[name] = (Now, detail);
            AddTimeline($"VIOLATION {name}: {detail}");
        }
    }

    /// <summary>
    /// The latest fault the driver performed on a node from <see cref="EventToleranceMicroseconds"/> before an event
    /// arrived (at <paramref name="arrivedAt"/>) until now, when its check runs: the state a check reads may show
    /// that fault (a node killed or stopped, a file corrupted, a disk filled) rather than anything the protocol
    /// did. Null: none.
    /// </summary>
    internal static string? DriverFaultNear(IReadOnlyList<(long At, string What)> faults, long arrivedAt) =>
        faults.LastOrDefault(f => f.At >= arrivedAt - EventToleranceMicroseconds).What;

    /// <summary>How an event-judged invariant was watched, for its report line.</summary>
    private string EventWatch(string name)
    {
        var counts = _streams?.Counts() ?? [];
        var judged = name switch
        {
            InvariantCatalog.CopiesDurableAtAck => $"{_eventCheckers?.AcksChecked ?? 0} acknowledgement(s) judged, ",
            InvariantCatalog.OrphansKeepAckedCopies =>
                $"{_eventCheckers?.OrphansCollected ?? 0} orphan collection(s) judged, ",
            InvariantCatalog.NoGarbageChurn =>
                $"{_eventCheckers?.GarbageCollections ?? 0} garbage collection(s) judged, ",
            InvariantCatalog.NoFalseDead => $"{_eventCheckers?.FalseDead.Judged ?? 0} death(s) judged, ",
            InvariantCatalog.NoFalseSuspicion => $"{_eventCheckers?.FalseSuspicion.Judged ?? 0} suspicion(s) judged, ",
            _ => "",
        };
        var excused = StateAtEvent.Contains(name)
            ? $"state read on arrival, {_excused} violation(s) of such checks excused by the driver's own faults, "
            : "against the driver's record of its faults, ";
        return string.Create(CultureInfo.InvariantCulture,
            $" (judged at each event as it arrived: {counts.Sum(c => c.Events)} events on " +
            $"{counts.Sum(c => c.Subscriptions)} /api/events subscription(s); {judged}{excused}tolerance " +
            $"{ScenarioRun.Seconds(EventToleranceMicroseconds)})");
    }

    /// <summary>Why an event-judged invariant that held is incomplete (null: complete, or not event-judged).</summary>
    private string? EventIncomplete(string name) => EventJudged.Contains(name) && _streams?.Incomplete() is { } why
        ? "incomplete: events were lost, so it was not judged at every event (" + why + ")"
        : null;
}
