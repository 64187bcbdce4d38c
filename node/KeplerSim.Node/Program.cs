using System.CommandLine;
using KeplerSim.Node.Cli;

var root = new RootCommand("kepler-node: a KeplerFS node (serve) and its command-line client")
{
    ServeCommand.Create(),
    KeygenCommand.Create(),
};
foreach (var command in ClientCommands.Create())
{
    // The client's connection options belong to the client commands only (serve --help listed --node).
    command.Options.Add(ClientCommands.NodeOption);
    command.Options.Add(ClientConnection.TokenOption);
    command.Options.Add(ClientConnection.CaCertOption);
    command.Options.Add(ClientConnection.InsecureOption);
    root.Subcommands.Add(command);
}

// On SIGINT or SIGTERM System.CommandLine cancels the action, then by default ends the process 2 s later (exit 143),
// which cut the leave and hand-off short (HANDOFF_TIMEOUT_MS may be up to the write timeout's maximum). Wait for
// the longest hand-off, plus the host's bounded disposal.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration
{
    ProcessTerminationTimeout = ServeCommand.StopTimeout,
});
