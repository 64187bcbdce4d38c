using System.CommandLine;
using KeplerSim.Node.Cli;

var root = new RootCommand("kepler-node: a KeplerFS node (serve) and its command-line client")
{
    ServeCommand.Create(),
    ClientCommands.NodeOption,
};
foreach (var command in ClientCommands.Create())
{
    root.Subcommands.Add(command);
}

return await root.Parse(args).InvokeAsync();
