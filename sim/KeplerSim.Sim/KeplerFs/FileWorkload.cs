using System.Security.Cryptography;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.KeplerFs;

/// <summary>Shape of a random file workload.</summary>
public sealed record WorkloadOptions
{
    /// <summary>Operations started per virtual second (across the cluster).</summary>
    public double OpsPerSecond { get; init; } = 5;

    /// <summary>How many distinct paths the operations draw from (few, so operations collide).</summary>
    public int Paths { get; init; } = 8;

    /// <summary>Smallest file.</summary>
    public int SizeMinBytes { get; init; }

    /// <summary>Largest file.</summary>
    public int SizeMaxBytes { get; init; } = 16 * 1024;

    /// <summary>Relative weight of puts.</summary>
    public int PutWeight { get; init; } = 5;

    /// <summary>Relative weight of gets.</summary>
    public int GetWeight { get; init; } = 4;

    /// <summary>Relative weight of deletes.</summary>
    public int DeleteWeight { get; init; } = 1;

    /// <summary>Durability of puts and deletes.</summary>
    public Durability Durability { get; init; } = Durability.Quorum;
}

/// <summary>
/// Random puts, gets and deletes against random live nodes, all drawn from the run's seed. Records what was
/// acknowledged (the model the checkers compare the cluster against) and checks every read as it completes:
/// a read may return any version ever written to the path, never anything else.
/// </summary>
public sealed class FileWorkload
{
    private const long TickMicroseconds = 10_000;
    private readonly KeplerSimCluster _cluster;
    private readonly WorkloadOptions _options;
    private readonly DeterministicRandom _random;
    private readonly List<Pending> _pending = [];
    private readonly SortedDictionary<string, SortedSet<string>> _written = new(StringComparer.Ordinal);
    private bool _stopped;
    private double _owed;

    /// <summary>Starts issuing operations now.</summary>
    public FileWorkload(KeplerSimCluster cluster, WorkloadOptions options, ulong seed)
    {
        _cluster = cluster;
        _options = options;
        _random = new DeterministicRandom(DeterministicRandom.Derive(seed, "workload"));
        cluster.Sim.Schedule(TickMicroseconds, Tick);
    }

    /// <summary>Acknowledged writes and deletes, in acknowledgement order.</summary>
    public List<AcknowledgedWrite> Acknowledged { get; } = [];

    /// <summary>Safety violations seen so far (empty when the cluster behaved).</summary>
    public List<string> Violations { get; } = [];

    /// <summary>Counters by outcome (put.ok, put.DurabilityNotMetException, get.ok, …).</summary>
    public SortedDictionary<string, int> Outcomes { get; } = new(StringComparer.Ordinal);

    /// <summary>Operations still running.</summary>
    public int InFlight => _pending.Count;

    /// <summary>The SHA-256 of every content ever written to a path (acknowledged or not).</summary>
    public IReadOnlyDictionary<string, SortedSet<string>> Written => _written;

    /// <summary>Stops issuing new operations (those in flight still complete and are checked).</summary>
    public void Stop() => _stopped = true;

    /// <summary>Collects completed operations; call after running the simulation.</summary>
    public void Collect()
    {
        for (var i = 0; i < _pending.Count;)
        {
            var op = _pending[i];
            if (op.Task.IsCompleted)
            {
                Complete(op);
            }
            else if (op.Node.Epoch != op.Epoch)
            {
                // The node crashed under the request: like a client whose connection broke, we never learn the
                // outcome. Not acknowledged, so nothing is owed.
                Count(op.Kind + ".crashed");
            }
            else
            {
                i++;
                continue;
            }

            _pending.RemoveAt(i);
        }
    }

    private void Tick()
    {
        Collect();
        if (_stopped)
        {
            return;
        }

        _owed += _options.OpsPerSecond * TickMicroseconds / 1_000_000.0;
        var live = _cluster.Live.ToList();
        while (_owed >= 1 && live.Count > 0)
        {
            _owed--;
            Issue(live[_random.NextInt(live.Count)]);
        }

        _cluster.Sim.Schedule(TickMicroseconds, Tick);
    }

    private void Issue(SimNode node)
    {
        var path = $"w/file-{_random.NextInt(_options.Paths)}";
        var roll = _random.NextInt(_options.PutWeight + _options.GetWeight + _options.DeleteWeight);
        if (roll < _options.PutWeight)
        {
            var data = new byte[_random.NextInt(_options.SizeMaxBytes - _options.SizeMinBytes + 1) + _options.SizeMinBytes];
            _random.NextBytes(data);
            var hash = Convert.ToHexStringLower(SHA256.HashData(data));
            if (!_written.TryGetValue(path, out var hashes))
            {
                _written[path] = hashes = new SortedSet<string>(StringComparer.Ordinal);
            }

            hashes.Add(hash);
            _pending.Add(new Pending("put", node, node.Epoch, path, hash, _cluster.PutAsync(node, path, data, _options.Durability)));
        }
        else if (roll < _options.PutWeight + _options.GetWeight)
        {
            _pending.Add(new Pending("get", node, node.Epoch, path, null, _cluster.GetAsync(node, path)));
        }
        else
        {
            _pending.Add(new Pending("delete", node, node.Epoch, path, null, _cluster.DeleteAsync(node, path, _options.Durability)));
        }
    }

    private void Complete(Pending op)
    {
        if (!op.Task.IsCompletedSuccessfully)
        {
            var error = op.Task.Exception?.GetBaseException();
            Count($"{op.Kind}.{error?.GetType().Name ?? "cancelled"}");
            if (error is InvalidManifestException or Core.InvariantViolationException)
            {
                Violations.Add($"{op.Kind} {op.Path} on {op.Node.Name}: {error.GetType().Name}: {error.Message}");
            }

            return;
        }

        Count(op.Kind + ".ok");
        switch (op.Task)
        {
            case Task<FileVersionInfo> { Result: var info }:
                Acknowledged.Add(new AcknowledgedWrite(op.Path, info.Version, op.ContentHash, info.IsTombstone,
                    _cluster.Sim.Now));
                break;
            case Task<byte[]> { Result: var bytes }:
                var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
                if (!_written.TryGetValue(op.Path, out var hashes) || !hashes.Contains(hash))
                {
                    Violations.Add($"get {op.Path} on {op.Node.Name} returned {bytes.Length} bytes never written there");
                }

                break;
        }
    }

    private void Count(string outcome)
    {
        Outcomes.TryGetValue(outcome, out var count);
        Outcomes[outcome] = count + 1;
    }

    private sealed record Pending(string Kind, SimNode Node, int Epoch, string Path, string? ContentHash, Task Task);
}

/// <summary>A write (or delete) the cluster acknowledged.</summary>
public sealed record AcknowledgedWrite(string Path, string Version, string? ContentHash, bool IsDelete, long AtMicroseconds);
