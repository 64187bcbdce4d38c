using KeplerSim.Core.Runtime;
using KeplerSim.Core.Security;

namespace KeplerSim.Sim.KeplerFs;

/// <summary>
/// The cluster keys of one simulated run: each key name (<c>a</c>, <c>b</c>, <c>old</c>) stands for 32 bytes
/// derived from the run's seed, and each node runs with a keyring of names, as a real node's CLUSTER_KEY lists
/// keys (primary first). Every node starts with <see cref="DefaultKeyName"/>; a restart step may change a node's
/// keyring (a key rotation). Disabled, every node runs without a key (plain datagrams and frames).
/// </summary>
public sealed class SimClusterKeys(ulong seed, bool enabled)
{
    /// <summary>The key name every node starts with.</summary>
    public const string DefaultKeyName = "a";

    /// <summary>The key under which <see cref="Scenarios.ProtocolRunState"/> holds the run's keys.</summary>
    public const string RunStateKey = "cluster-keys";

    private readonly SortedDictionary<string, IReadOnlyList<string>> _keyrings = new(StringComparer.Ordinal);

    /// <summary>Whether nodes run with a cluster key (<c>cluster.cluster_key</c>).</summary>
    public bool Enabled => enabled;

    /// <summary>The 32 bytes a key name stands for in this run.</summary>
    public byte[] Secret(string name)
    {
        var bytes = new byte[ClusterKeyring.KeyBytes];
        new DeterministicRandom(DeterministicRandom.Derive(seed, "cluster-key/" + name)).NextBytes(bytes);
        return bytes;
    }

    /// <summary>A keyring of the named keys, primary first.</summary>
    public ClusterKeyring Keyring(IEnumerable<string> names) => ClusterKeyring.Of([.. names.Select(Secret)]);

    /// <summary>The key names a node runs with (its next start uses them).</summary>
    public IReadOnlyList<string> NamesOf(string node) =>
        _keyrings.GetValueOrDefault(node) ?? [DefaultKeyName];

    /// <summary>Sets the key names a node runs with from its next start on.</summary>
    public void Set(string node, IReadOnlyList<string> names) => _keyrings[node] = names;

    /// <summary>The keyring a node starts with, or null when keys are disabled.</summary>
    public ClusterKeyring? KeyringOf(string node) => enabled ? Keyring(NamesOf(node)) : null;
}
