using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Tests.Sim;

/// <summary>A program that does nothing: tests drive the node through <see cref="SimNode.Spawn{T}"/>.</summary>
internal sealed class IdleProgram : INodeProgram
{
    public Task StartAsync() => Task.CompletedTask;
}

internal static class SimHarness
{
    public const long Second = 1_000_000;

    /// <summary>Runs the simulation until the task completes; fails saying what was awaited otherwise.</summary>
    public static T Await<T>(this Simulation sim, Task<T> task, string what, long timeoutMicroseconds = 60 * Second)
    {
        Assert.True(sim.RunUntil(() => task.IsCompleted, timeoutMicroseconds),
            $"timed out after {timeoutMicroseconds} us of virtual time waiting for {what}");
        return task.GetAwaiter().GetResult();
    }

    public static void Await(this Simulation sim, Task task, string what, long timeoutMicroseconds = 60 * Second)
    {
        Assert.True(sim.RunUntil(() => task.IsCompleted, timeoutMicroseconds),
            $"timed out after {timeoutMicroseconds} us of virtual time waiting for {what}");
        task.GetAwaiter().GetResult();
    }

    public static (Simulation Sim, SimNode Node) OneIdleNode(ulong seed, DiskFaults? disk = null)
    {
        var sim = new Simulation(new SimulationOptions { Seed = seed, Disk = disk ?? new DiskFaults() });
        var node = sim.AddNode("n1", _ => new IdleProgram());
        node.Start();
        return (sim, node);
    }
}
