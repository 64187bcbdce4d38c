using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// The <c>outsider</c> fault: processes on the network without the cluster key (or with a key no node holds, such
/// as one rotated out). Each attack adds two outsiders running the real KeplerFS node code with that key:
/// <c>outsiderN-swim</c> tries to join through the targets (SWIM joins and gossip), <c>outsiderN</c> lists the
/// targets as its static members and writes: it plants a file of its own and overwrites then deletes every path
/// the workload wrote, so its chunk pushes, manifests and tombstones go to the targets through the transfer
/// protocol, retried by its queue and anti-entropy. It also replays datagrams it captured from the cluster, whole,
/// truncated and with a flipped byte. The harness never steers the cluster: it only adds these processes;
/// <c>outsider_changes_nothing</c> checks that nothing of theirs was accepted.
/// </summary>
internal sealed class OutsiderAttack
{
    /// <summary>Every outsider's name starts with this (cluster node names may not).</summary>
    public const string NamePrefix = "outsider";

    /// <summary>Datagrams kept for replay (the most recent).</summary>
    public const int CapturedMax = 64;

    /// <summary>Workload paths one attack overwrites and deletes.</summary>
    public const int PathsMax = 8;

    private readonly Simulation _sim;
    private readonly ClusterSpec _cluster;
    private readonly SimClusterKeys _keys;
    private readonly FileLedger _ledger;
    private readonly ulong _seed;
    private readonly Queue<(NetAddress Target, byte[] Bytes)> _captured = new();
    private int _attacks;

    public OutsiderAttack(Simulation sim, ClusterSpec cluster, SimClusterKeys keys, FileLedger ledger, ulong seed)
    {
        _sim = sim;
        _cluster = cluster;
        _keys = keys;
        _ledger = ledger;
        _seed = seed;
        sim.Network.Tap = Capture;
    }

    /// <summary>Starts one attack on <paramref name="targets"/> with the named key (null: no key at all).</summary>
    public void Attack(IReadOnlyList<string> targets, string? keyName)
    {
        _attacks++;
        var name = NamePrefix + _attacks;
        var keyring = keyName is null ? null : _keys.Keyring([keyName]);
        var options = _cluster.ToKeplerOptions() with { ClusterKey = keyring };
        var joiner = _sim.AddOutsider(name + "-swim", runtime =>
            SimKeplerNode.Create(runtime, options, MembershipMode.Swim, targets));
        var writer = _sim.AddOutsider(name, runtime =>
            SimKeplerNode.Create(runtime, options, MembershipMode.Static, targets));
        joiner.Start();
        writer.Start();
        var replays = _captured.Where(c => targets.Contains(c.Target.Host, StringComparer.Ordinal)).ToList();
        _ = joiner.Spawn(runtime => Replay(runtime, replays));
        _ = writer.Spawn(_ => WriteAsync((KeplerNode)writer.Program!, name));
    }

    private void Capture(SimNode from, NetAddress target, byte[] bytes)
    {
        if (from.IsOutsider)
        {
            return;
        }

        _captured.Enqueue((target, bytes));
        if (_captured.Count > CapturedMax)
        {
            _captured.Dequeue();
        }
    }

    /// <summary>Each captured datagram three times: as captured, cut in half, and with one byte flipped.</summary>
    private static Task Replay(NodeRuntime runtime, IReadOnlyList<(NetAddress Target, byte[] Bytes)> captured)
    {
        foreach (var (target, bytes) in captured)
        {
            runtime.Datagrams.Send(target, bytes);
            runtime.Datagrams.Send(target, bytes.AsSpan(0, bytes.Length / 2));
            var flipped = (byte[])bytes.Clone();
            flipped[runtime.Random.NextInt(flipped.Length)] ^= 0x20;
            runtime.Datagrams.Send(target, flipped);
        }

        return Task.CompletedTask;
    }

    /// <summary>Plants a file, then overwrites and deletes the workload's paths (fast: acknowledged locally).</summary>
    private async Task WriteAsync(KeplerNode node, string name)
    {
        await node.Ready;
        var random = new DeterministicRandom(DeterministicRandom.Derive(_seed, name));
        var paths = _ledger.Ops.Where(o => o.Kind == FileOpKind.Put).Select(o => o.Path)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(PathsMax).ToList();
        await TryAsync(() => node.PutAsync($"{name}/planted", Content(random), Durability.Fast));
        foreach (var path in paths)
        {
            await TryAsync(() => node.PutAsync(path, Content(random), Durability.Fast));
            await TryAsync(() => node.DeleteAsync(path, Durability.Fast));
        }
    }

    private static MemoryStream Content(IRandom random)
    {
        var bytes = new byte[1024 + random.NextInt(8192)];
        random.NextBytes(bytes);
        return new MemoryStream(bytes, writable: false);
    }

    /// <summary>Whether its own write succeeds does not matter; only what the cluster accepts does.</summary>
    private static async Task TryAsync(Func<Task> write)
    {
        try
        {
            await write();
        }
        catch (Exception e) when (e is not Core.InvariantViolationException)
        {
            // Refused or failed: either way nothing of it may reach the cluster, which the invariant checks.
        }
    }
}
