using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>A tiny node program owning a <see cref="SwimMember"/>, wiring the seams to it as KeplerFS will.</summary>
internal sealed class SwimProgram(NodeRuntime runtime, SwimOptions options, IReadOnlyList<NetAddress> seeds,
    Action<SwimMember, MemberInfo> observer, byte[] metadata) : INodeProgram
{
    public SwimMember Swim { get; } = new(runtime, options, metadata);

    public Task StartAsync()
    {
        runtime.Datagrams.SetReceiver(Swim.HandleDatagram);
        runtime.Streams.SetAcceptor(connection => _ = ServeAsync(connection));
        Swim.MemberChanged += member => observer(Swim, member);
        Swim.Start(seeds);
        return Task.CompletedTask;
    }

    private async Task ServeAsync(IStreamConnection connection)
    {
        using (connection)
        {
            try
            {
                var first = await connection.ReceiveAsync();
                if (first is { } bytes && SwimMember.IsSwimFrame(bytes))
                {
                    await Swim.HandleStreamAsync(connection, bytes);
                }
            }
            catch (StreamBrokenException)
            {
                // The peer went away mid-exchange.
            }
        }
    }
}

/// <summary>One member's view changed, as seen by <see cref="Observer"/> at virtual time <see cref="Time"/>.</summary>
internal readonly record struct Observation(long Time, string Observer, MemberInfo Member);

/// <summary>A simulated cluster of n nodes (n1..nN) running SWIM, joining through n1.</summary>
internal sealed class SwimCluster : IDisposable
{
    private readonly List<Observation> _observations = [];

    private SwimCluster(Simulation sim, SwimOptions options)
    {
        Sim = sim;
        Options = options;
    }

    public Simulation Sim { get; }

    public SwimOptions Options { get; }

    public IReadOnlyList<SimNode> Nodes => Sim.Nodes;

    /// <summary>Every view change of every node, in order.</summary>
    public IReadOnlyList<Observation> Observations => _observations;

    public static SwimCluster Create(int nodes, ulong seed, SwimOptions? options = null, NetworkFaults? network = null,
        double buggify = 0, int metadataBytes = 0)
    {
        options ??= new SwimOptions();
        var sim = new Simulation(new SimulationOptions
        {
            Seed = seed,
            Network = network ?? new NetworkFaults(),
            BuggifySiteProbability = buggify,
        });
        var cluster = new SwimCluster(sim, options);
        var seeds = new[] { new NetAddress("n1", SimNode.GossipPort) };
        for (var i = 1; i <= nodes; i++)
        {
            var metadata = new byte[metadataBytes];
            Array.Fill(metadata, (byte)i);
            sim.AddNode($"n{i}", runtime => new SwimProgram(runtime, options, seeds, cluster.Observe, metadata));
        }

        foreach (var node in sim.Nodes)
        {
            node.Start();
        }

        return cluster;
    }

    private void Observe(SwimMember observer, MemberInfo member) =>
        _observations.Add(new Observation(Sim.Now, observer.Id.Value, member));

    public SwimMember Swim(SimNode node) =>
        ((SwimProgram)(node.Program ?? throw new InvalidOperationException($"{node.Name} is down"))).Swim;

    public SwimMember Swim(int index) => Swim(Nodes[index]);

    public IEnumerable<SimNode> Running => Nodes.Where(n => n.State == SimNodeState.Running);

    /// <summary>Status of <paramref name="member"/> in <paramref name="observer"/>'s view (null: unknown).</summary>
    public MemberStatus? StatusOf(SimNode observer, SimNode member) => Swim(observer).Find(member.Id)?.Status;

    /// <summary>Every running node sees every running node alive.</summary>
    public bool Converged()
    {
        var running = Running.ToList();
        return running.All(r => running.All(s => StatusOf(r, s) == MemberStatus.Alive));
    }

    /// <summary>Every running node but <paramref name="member"/> sees it as <paramref name="status"/>.</summary>
    public bool AllSee(SimNode member, MemberStatus status) =>
        Running.Where(r => r != member).All(r => StatusOf(r, member) == status);

    /// <summary>
    /// Runs in steps of <paramref name="stepMicroseconds"/> until the condition holds; fails saying what was awaited.
    /// </summary>
    public void RunUntil(Func<bool> condition, long timeoutMicroseconds, string what,
        long stepMicroseconds = 50_000)
    {
        var deadline = Sim.Now + timeoutMicroseconds;
        while (!condition())
        {
            Assert.True(Sim.Now < deadline,
                $"timed out after {timeoutMicroseconds} us of virtual time waiting for {what} "
                + $"(seed {Sim.Options.Seed})");
            Sim.RunFor(stepMicroseconds);
        }
    }

    public void RunUntilConverged(long timeoutMicroseconds = 60 * SimHarness.Second) =>
        RunUntil(Converged, timeoutMicroseconds, "every running node to see every running node alive", 100_000);

    /// <summary>Observations of <paramref name="member"/> as <paramref name="status"/> since a time.</summary>
    public IEnumerable<Observation> Seen(SimNode member, MemberStatus status, long since = 0) =>
        _observations.Where(o => o.Time >= since && o.Member.Id == member.Id && o.Member.Status == status);

    /// <summary>When each observer first saw <paramref name="member"/> with <paramref name="status"/>.</summary>
    public SortedDictionary<string, long> FirstSeen(SimNode member, MemberStatus status, long since = 0)
    {
        var first = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var o in Seen(member, status, since))
        {
            first.TryAdd(o.Observer, o.Time);
        }

        return first;
    }

    public void Dispose() => Sim.Dispose();
}

internal static class Stats
{
    /// <summary>The q-quantile (nearest rank) of <paramref name="values"/>.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(q * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }
}
