using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Security;

/// <summary>
/// Transfer connections under the cluster key: each connection begins with a handshake in which both sides
/// contribute a fresh nonce and prove they hold the key, and derives one AES-256-GCM key per direction; then every
/// frame is sealed with a counter nonce. A frame that fails to open (forged, altered, truncated, replayed or
/// reordered) is counted and closes the connection. A decorator over the runtime's stream network, so the
/// simulator runs exactly this code. The handshake is described in docs/PROTOCOL.md, "Cluster key".
/// </summary>
public sealed class SealedStreamNetwork : IStreamNetwork
{
    private readonly IStreamNetwork _inner;
    private readonly SealedStreamSettings _settings;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="random"/> draws the handshake nonces.</summary>
    public SealedStreamNetwork(IStreamNetwork inner, ClusterKeyring keyring, IRandom random, AuthCounters counters)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(keyring);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(counters);
        _inner = inner;
        _settings = new SealedStreamSettings(keyring, random, counters);
    }

    /// <inheritdoc />
    public NetAddress LocalAddress => _inner.LocalAddress;

    /// <inheritdoc />
    public int MaxFrameBytes => _inner.MaxFrameBytes - SealedStreamConnection.TagBytes;

    /// <inheritdoc />
    public async Task<IStreamConnection> ConnectAsync(NetAddress target, CancellationToken cancellationToken = default)
    {
        var raw = await _inner.ConnectAsync(target, cancellationToken);
        var connection = new SealedStreamConnection(raw, _settings, client: true);
        try
        {
            await connection.HandshakeAsync(cancellationToken);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void SetAcceptor(Action<IStreamConnection> acceptor)
    {
        ArgumentNullException.ThrowIfNull(acceptor);
        // The accepting side answers the handshake on its first receive, inside the serving task (and under its
        // timeouts), so an accepted connection costs nothing until its peer speaks.
        _inner.SetAcceptor(raw => acceptor(new SealedStreamConnection(raw, _settings, client: false)));
    }
}

/// <summary>What every sealed connection of one node shares.</summary>
internal sealed record SealedStreamSettings(ClusterKeyring Keyring, IRandom Random, AuthCounters Counters);
