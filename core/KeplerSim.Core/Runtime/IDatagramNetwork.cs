namespace KeplerSim.Core.Runtime;

/// <summary>Small, unordered, unreliable messages (gossip). Datagrams may be lost, duplicated or reordered.</summary>
public interface IDatagramNetwork
{
    /// <summary>The address peers send to in order to reach this node.</summary>
    NetAddress LocalAddress { get; }

    /// <summary>The largest payload <see cref="Send"/> accepts (the MTU budget), in bytes.</summary>
    int MaxDatagramBytes { get; }

    /// <summary>
    /// Sends a datagram. Fire and forget: delivery is not guaranteed. Throws <see cref="ArgumentException"/> for a
    /// payload larger than <see cref="MaxDatagramBytes"/>. The payload is copied before this returns.
    /// </summary>
    void Send(NetAddress target, ReadOnlySpan<byte> payload);

    /// <summary>Sets the handler for arriving datagrams; it runs on the node's logical thread.</summary>
    void SetReceiver(Action<NetAddress, ReadOnlyMemory<byte>> receiver);
}
