using System.Diagnostics;

namespace KeplerSim.Tests;

/// <summary>Paths in the repository and running the built CLIs in separate processes.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Scenario(string relative) => Path.Combine(Root, "scenarios", relative);

    /// <summary>Runs kepler-sim in a new process with a bounded wait; returns exit code and output.</summary>
    public static (int ExitCode, string Output) RunSim(params string[] args) => Run("kepler-sim.dll", args);

    private static (int ExitCode, string Output) Run(string assembly, string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, assembly);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{assembly} {string.Join(' ', args)} did not exit within 3 minutes");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    public static string Field(string output, string name)
    {
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal));
        Assert.True(line is not null, $"output has no '{name}:' line:\n{output}");
        return line![(name.Length + 1)..].Trim();
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KeplerSim.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("KeplerSim.sln not found above " + AppContext.BaseDirectory);
    }
}
