namespace KeplerSim.Core.Membership;

public sealed partial class SwimMember
{
    private ClusterSettings? _settings;
    private byte[]? _settingsBytes;

    /// <summary>
    /// Raised when this node adopts newer cluster settings: its own operator's change
    /// (<see cref="ProposeSettings"/>) or a peer's that wins over what it held.
    /// </summary>
    public event Action<ClusterSettings>? SettingsChanged;

    /// <summary>The cluster settings this node holds (null: nobody changed them; each node uses its own
    /// configuration).</summary>
    public ClusterSettings? Settings => _settings;

    /// <summary>
    /// Takes <paramref name="settings"/> (what this node persisted before a restart) without raising
    /// <see cref="SettingsChanged"/>, if they win over what it holds.
    /// </summary>
    public void RestoreSettings(ClusterSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Supersedes(_settings))
        {
            Hold(settings);
        }
    }

    /// <summary>
    /// An operator's change on this node: a replication factor at one version above the highest this node has seen,
    /// with this node as origin. It spreads on every datagram and push-pull from now on.
    /// </summary>
    public ClusterSettings ProposeSettings(int replicationFactor)
    {
        var proposed = new ClusterSettings(replicationFactor, (_settings?.Version ?? 0) + 1, Id.Value);
        Invariant.That(SwimCodec.Validate(proposed) is null, "proposed settings must be valid");
        MergeSettings(proposed);
        Invariant.That(_settings == proposed, "a node's own newer change always wins locally");
        return proposed;
    }

    /// <summary>
    /// Adopts valid <paramref name="remote"/> settings a peer sent outside SWIM (on a chunk transfer) if they win,
    /// exactly as if they came with a datagram.
    /// </summary>
    public void AdoptSettings(ClusterSettings remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        Invariant.That(SwimCodec.Validate(remote) is null, "settings from a peer are validated before adoption");
        MergeSettings(remote);
    }

    /// <summary>Adopts <paramref name="remote"/> (from a datagram, a push-pull, or this node) if it wins.</summary>
    private void MergeSettings(ClusterSettings? remote)
    {
        if (remote is null || !remote.Supersedes(_settings))
        {
            return;
        }

        Hold(remote);
        SettingsChanged?.Invoke(remote);
    }

    private void Hold(ClusterSettings settings)
    {
        var bytes = SwimCodec.EncodeSettings(settings);
        Invariant.That(bytes.Length <= ClusterSettingsBytesMax, "cluster settings exceed their datagram share");
        _settings = settings;
        _settingsBytes = bytes;
    }

    /// <summary>Most bytes the encoded settings take in a datagram (a factor, a version and a node id).</summary>
    public const int ClusterSettingsBytesMax = 16 + SwimCodec.NodeIdCharsMax * 3;
}
