using System.Diagnostics;

namespace KeplerSim.Tests.Sim;

/// <summary>
/// Non-negotiable 1, enforced by the compiler: a copy of core with a banned call added must fail to build with
/// RS0030 for every kind of banned symbol.
/// </summary>
[Trait("Category", "Build")]
public sealed class BannedApiTests
{
    private const string Probe = """
        namespace KeplerSim.Core;

        internal static class BannedProbe
        {
            public static long Clock() => System.DateTime.UtcNow.Ticks + System.Environment.TickCount64;

            public static System.Threading.Tasks.Task Delay() => System.Threading.Tasks.Task /* banned */ .Delay(1);

            public static System.Threading.Tasks.Task Run() => System.Threading.Tasks.Task.Run(() => { });

            public static int Random() => new System.Random().Next() + System.Random.Shared.Next();

            public static System.Guid Id() => System.Guid.NewGuid();

            public static bool Io() => System.IO.File.Exists("x");

            public static object Socket() => new System.Net.Sockets.UdpClient();

            public static async System.Threading.Tasks.Task Escape() =>
                await System.Threading.Tasks.Task.CompletedTask.ConfigureAwait(false);
        }
        """;

    [Fact]
    public void Banned_calls_in_core_fail_the_build()
    {
        var work = Directory.CreateTempSubdirectory("kepler-banned-");
        try
        {
            foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", ".editorconfig", "global.json" })
            {
                File.Copy(Path.Combine(Repo.Root, file), Path.Combine(work.FullName, file));
            }

            var core = Path.Combine(work.FullName, "core");
            CopyTree(Path.Combine(Repo.Root, "core", "KeplerSim.Core"), core);
            File.WriteAllText(Path.Combine(core, "BannedProbe.cs"), Probe);
            var (exit, output) = Build(core);
            Assert.True(exit != 0, "core with banned calls must not build:\n" + output);
            foreach (var symbol in new[] { "DateTime.UtcNow", "Environment.TickCount64", "Task.Delay", "Task.Run",
                         "Random.Random()", "Random.Shared", "Guid.NewGuid", "File", "System.Net.Sockets", "ConfigureAwait" })
            {
                Assert.True(output.Contains("RS0030", StringComparison.Ordinal)
                    && output.Contains(symbol, StringComparison.Ordinal), $"no RS0030 for {symbol}:\n{output}");
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static (int Exit, string Output) Build(string project)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "build", project, "-nologo", "-clp:NoSummary" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("dotnet build of the probe did not finish within 5 minutes");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("bin", StringComparison.Ordinal) || relative.StartsWith("obj", StringComparison.Ordinal))
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }
    }
}
