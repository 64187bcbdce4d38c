using System.CommandLine;
using System.Security.Cryptography;
using KeplerSim.Core.Security;

namespace KeplerSim.Node.Cli;

/// <summary><c>kepler-node keygen</c>: prints a fresh cluster key for CLUSTER_KEY.</summary>
internal static class KeygenCommand
{
    public static Command Create()
    {
        var command = new Command("keygen", "Print a new random cluster key (base64, 32 bytes) for CLUSTER_KEY");
        command.SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.WriteLine(
                Convert.ToBase64String(RandomNumberGenerator.GetBytes(ClusterKeyring.KeyBytes)));
            return 0;
        });
        return command;
    }
}
