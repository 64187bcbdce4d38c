namespace KeplerSim.Core.Runtime;

/// <summary>A node's stable identity (the NODE_ID of a real node). Ordered ordinally.</summary>
public readonly record struct NodeId(string Value) : IComparable<NodeId>
{
    /// <inheritdoc />
    public int CompareTo(NodeId other) => string.CompareOrdinal(Value, other.Value);

    /// <inheritdoc />
    public override string ToString() => Value;
}

/// <summary>
/// A network address: host and port. In the simulator the host is the node's name; on a real node an IP address.
/// </summary>
public readonly record struct NetAddress(string Host, int Port) : IComparable<NetAddress>
{
    /// <inheritdoc />
    public int CompareTo(NetAddress other)
    {
        var byHost = string.CompareOrdinal(Host, other.Host);
        return byHost != 0 ? byHost : Port.CompareTo(other.Port);
    }

    /// <summary>Parses <c>host:port</c>; the error says what was expected.</summary>
    public static NetAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            throw new FormatException($"'{text}' is not an address: expected host:port");
        }

        if (!int.TryParse(text.AsSpan(colon + 1), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new FormatException($"'{text}' has an invalid port: expected 1..65535");
        }

        return new NetAddress(text[..colon], port);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Host}:{Port}";
}
