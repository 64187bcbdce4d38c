namespace KeplerSim.Node.Tests.Support;

/// <summary>Free ports on 127.0.0.1 (free for both TCP and UDP at the time of asking): the launcher's.</summary>
public static class Ports
{
    public static int Free() => KeplerSim.Sim.Real.FreePorts.Next();
}
