using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

/// <summary>
/// Pending membership updates (memberlist's TransmitLimitedQueue): at most one per member, a newer update about a
/// member replacing the older one. Updates sent fewest times go first, newest first among equals; each is dropped
/// after the retransmit limit.
/// </summary>
internal sealed class BroadcastQueue
{
    // Looked up, never walked in order (the order is _order's): a hash map, about half a sorted map's bytes per
    // entry (a joining node has one queued about nearly every member).
    private readonly Dictionary<NodeId, Entry> _byNode = [];
    private readonly SortedSet<Entry> _order = new(EntryOrder.Instance);
    private long _nextId;

    /// <summary>Updates waiting to be sent.</summary>
    public int Count => _byNode.Count;

    /// <summary>Called after every <see cref="Enqueue"/> (SWIM re-arms its gossip rounds, which sleep while the
    /// queue is empty).</summary>
    public Action? Queued { get; set; }

    /// <summary>Queues <paramref name="bytes"/> about <paramref name="node"/>, replacing an older one.</summary>
    public void Enqueue(NodeId node, byte[] bytes, Action? sent = null)
    {
        if (_byNode.Remove(node, out var old))
        {
            _order.Remove(old);
            old.Sent?.Invoke();
        }

        Invariant.That(_byNode.Count < SwimMember.MembersMax, "broadcast queue exceeds the member limit");
        var entry = new Entry(node, bytes, _nextId++, sent);
        _byNode.Add(node, entry);
        _order.Add(entry);
        Queued?.Invoke();
    }

    /// <summary>Whether an update about <paramref name="node"/> is pending.</summary>
    public bool Contains(NodeId node) => _byNode.ContainsKey(node);

    /// <summary>
    /// Takes updates whose encodings fit in <paramref name="bytesBudget"/> in total (at most
    /// <paramref name="countMax"/>), counting one transmission for each.
    /// </summary>
    public List<byte[]> Take(int bytesBudget, int countMax, int retransmitLimit)
    {
        var taken = new List<Entry>();
        var remaining = bytesBudget;
        foreach (var entry in _order)
        {
            if (taken.Count >= countMax || remaining <= 0)
            {
                break;
            }

            if (entry.Bytes.Length <= remaining)
            {
                taken.Add(entry);
                remaining -= entry.Bytes.Length;
            }
        }

        foreach (var entry in taken)
        {
            _order.Remove(entry);
            entry.Transmits++;
            if (entry.Transmits >= retransmitLimit)
            {
                _byNode.Remove(entry.Node);
                entry.Sent?.Invoke();
            }
            else
            {
                _order.Add(entry);
            }
        }

        return taken.ConvertAll(e => e.Bytes);
    }

    /// <summary>Drops every pending update.</summary>
    public void Clear()
    {
        _byNode.Clear();
        _order.Clear();
    }

    private sealed class Entry(NodeId node, byte[] bytes, long id, Action? sent)
    {
        public NodeId Node { get; } = node;

        public byte[] Bytes { get; } = bytes;

        public long Id { get; } = id;

        public Action? Sent { get; } = sent;

        public int Transmits { get; set; }
    }

    private sealed class EntryOrder : IComparer<Entry>
    {
        public static readonly EntryOrder Instance = new();

        public int Compare(Entry? x, Entry? y)
        {
            var byTransmits = x!.Transmits.CompareTo(y!.Transmits);
            return byTransmits != 0 ? byTransmits : y.Id.CompareTo(x.Id);
        }
    }
}
