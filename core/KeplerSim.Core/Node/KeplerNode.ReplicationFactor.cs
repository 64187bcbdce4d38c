using KeplerSim.Core.Membership;

namespace KeplerSim.Core.Node;

/// <summary>
/// The runtime replication factor (clusterF's <c>PUT /api/replication-factor</c>): an operator changes it on any
/// node, SWIM spreads it on every datagram and push-pull with a version, and concurrent changes converge by
/// last-writer-wins on (version, origin) (<see cref="ClusterSettings"/>). Each node keeps the value it holds in its
/// metadata, so a restart keeps it, and a joining node learns it in its first push-pull. Adopting a new value
/// rebuilds the ring and runs the repair scan: raising it queues every chunk for its new owners; lowering it turns
/// the copies a node no longer owns into hinted ones, which the replication worker deletes only after every
/// owner confirmed holding the chunk (and the surplus grace passed), as after any ring change.
/// </summary>
public sealed partial class KeplerNode
{
    private const string SettingsMetaKey = "cluster.settings";
    private ClusterSettings? _settings;

    /// <summary>
    /// The replication factor in force: the cluster-wide value once an operator changed it (at runtime, on any
    /// node), else this node's configured one. N is this over the known members (<see cref="ReplicationTarget"/>).
    /// </summary>
    public int ReplicationFactor => _settings?.ReplicationFactor ?? _options.ReplicationFactor;

    /// <summary>The runtime change this node holds, with its version and origin (null: never changed).</summary>
    public ClusterSettings? ReplicationSetting => _settings;

    /// <summary>
    /// An operator's change of the replication factor, cluster-wide: adopted here at once (ring, repair, metadata)
    /// and spread by SWIM. Writes that began before keep the N they started with.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 1..<see cref="KeplerOptions.ReplicationFactorMax"/>.
    /// </exception>
    /// <exception cref="ReplicationFactorRefusedException">Membership is static: nothing would spread it.</exception>
    public async Task<ClusterSettings> SetReplicationFactorAsync(int replicationFactor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, KeplerOptions.ReplicationFactorMax);
        await EnsureReadyAsync();
        if (_swim is null)
        {
            throw new ReplicationFactorRefusedException(
                "membership is static (PEERS): set REPLICATION_FACTOR on every node and restart them instead");
        }

        var proposed = _swim.ProposeSettings(replicationFactor);
        Invariant.That(_settings == proposed, "the node adopts its own change before answering");
        return proposed;
    }

    /// <summary>Before recovery places anything: the value this node held when it stopped.</summary>
    private void RestoreSettings()
    {
        if (ClusterSettings.Parse(Meta.GetMeta(SettingsMetaKey)) is not { } saved)
        {
            return;
        }

        _settings = saved;
        Ring = BuildRing(Cluster);
        _swim?.RestoreSettings(saved);
    }

    /// <summary>SWIM adopted newer settings: keep them, and follow a new factor with the ring and the repair.</summary>
    private void OnSettingsChanged(ClusterSettings settings)
    {
        Invariant.That(settings.Supersedes(_settings), "SWIM only hands over settings that win");
        var before = ReplicationFactor;
        _settings = settings;
        Meta.SetMeta(SettingsMetaKey, settings.Format());
        _runtime.Events.Publish(new ReplicationFactorChanged(settings.ReplicationFactor, settings.Version,
            settings.Origin));
        if (settings.ReplicationFactor != before)
        {
            var previous = Ring;
            Ring = BuildRing(Cluster);
            _repair?.Request(previous);
            RestoreCollectedOwnedChunks(previous);
        }
    }
}
