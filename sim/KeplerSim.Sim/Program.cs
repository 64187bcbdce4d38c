using KeplerSim.Sim.Cli;

return SimCli.Build().Parse(args).Invoke();
