using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests.S3;

/// <summary>
/// The S3 clients people use, from their Debian packages (.ci/run installs them): the AWS CLI, rclone and s3cmd,
/// each configured through a temporary directory and its environment (never the user's home).
/// </summary>
[Trait("Category", "Real")]
[Collection("s3")]
public sealed class S3ClientTests(S3ClusterFixture cluster)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(180);

    private static async Task<string> RunAsync(string tool, IEnumerable<string> args, string home,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        Assert.True(File.Exists(tool), $"{tool} is not installed (.ci/run installs awscli, rclone and s3cmd)");
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = home,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Nothing of the caller's AWS or rclone settings (a CA bundle, a profile) reaches the tool.
        foreach (var inherited in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)
                     || k.StartsWith("RCLONE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(inherited);
        }

        start.Environment["HOME"] = home;
        start.Environment["XDG_CONFIG_HOME"] = Path.Combine(home, ".config");
        start.Environment["XDG_CACHE_HOME"] = Path.Combine(home, ".cache");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{tool} {string.Join(' ', args)} did not finish within {CommandTimeout.TotalSeconds} s");
        }

        var output = await stdout;
        Assert.True(process.ExitCode == 0,
            $"{tool} {string.Join(' ', args)} exited with {process.ExitCode}:\n{output}\n{await stderr}");
        return output + await stderr;
    }

    private static void WriteTree(string root, params (string Name, int Bytes)[] files)
    {
        foreach (var (name, bytes) in files)
        {
            var path = Path.Combine(root, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, Nodes.RandomBytes(bytes));
        }
    }

    private static void AssertSameTree(string expected, string actual)
    {
        var names = Directory.GetFiles(expected, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(expected, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(names, Directory.GetFiles(actual, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(actual, f)).Order(StringComparer.Ordinal));
        foreach (var name in names)
        {
            Assert.Equal(SHA256.HashData(File.ReadAllBytes(Path.Combine(expected, name))),
                SHA256.HashData(File.ReadAllBytes(Path.Combine(actual, name))));
        }
    }

    [Fact]
    public async Task Aws_cli_cp_sync_list_objects_v2_and_multipart()
    {
        var home = cluster.TempPath("aws-home");
        Directory.CreateDirectory(home);
        var environment = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = S3ClusterFixture.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = S3ClusterFixture.Secret,
            ["AWS_DEFAULT_REGION"] = "us-east-1",
            ["AWS_CONFIG_FILE"] = Path.Combine(home, "config"),
            ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(home, "credentials"),
            ["AWS_PAGER"] = "",
        };
        string[] endpoint = ["--endpoint-url", cluster.S3Url(0).ToString()];
        Task<string> Aws(params string[] args) => RunAsync("/usr/bin/aws", [.. args, .. endpoint], home, environment);

        await Aws("s3", "mb", "s3://cli-aws");
        var source = Path.Combine(home, "src");
        WriteTree(source, ("a.txt", 10), ("dir/b.bin", 70_000), ("dir/sub/c.bin", 1));
        await Aws("s3", "sync", source, "s3://cli-aws/tree/");
        var listed = JsonDocument.Parse(await Aws("s3api", "list-objects-v2", "--bucket", "cli-aws", "--prefix",
            "tree/"));
        Assert.Equal(["tree/a.txt", "tree/dir/b.bin", "tree/dir/sub/c.bin"],
            listed.RootElement.GetProperty("Contents").EnumerateArray().Select(c => c.GetProperty("Key").GetString()));
        var back = Path.Combine(home, "back");
        await Aws("s3", "sync", "s3://cli-aws/tree/", back);
        AssertSameTree(source, back);

        // 20 MiB is over the CLI's 8 MiB multipart threshold: an upload in three parts, read back through node 3.
        var big = Path.Combine(home, "big.bin");
        File.WriteAllBytes(big, Nodes.RandomBytes(20 * 1024 * 1024));
        await Aws("s3", "cp", big, "s3://cli-aws/big.bin");
        var head = JsonDocument.Parse(await Aws("s3api", "head-object", "--bucket", "cli-aws", "--key", "big.bin"));
        Assert.EndsWith("-3\"", head.RootElement.GetProperty("ETag").GetString(), StringComparison.Ordinal);
        var copy = Path.Combine(home, "big.copy");
        await RunAsync("/usr/bin/aws", ["s3", "cp", "s3://cli-aws/big.bin", copy, "--endpoint-url",
            cluster.S3Url(2).ToString()], home, environment);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(big)), SHA256.HashData(File.ReadAllBytes(copy)));
    }

    [Fact]
    public async Task Rclone_copy_then_check()
    {
        var home = cluster.TempPath("rclone-home");
        Directory.CreateDirectory(home);
        var config = Path.Combine(home, "rclone.conf");
        File.WriteAllText(config, "");
        var environment = new Dictionary<string, string>
        {
            ["RCLONE_CONFIG"] = config,
            ["RCLONE_CONFIG_KEPLER_TYPE"] = "s3",
            ["RCLONE_CONFIG_KEPLER_PROVIDER"] = "Other",
            ["RCLONE_CONFIG_KEPLER_ACCESS_KEY_ID"] = S3ClusterFixture.AccessKey,
            ["RCLONE_CONFIG_KEPLER_SECRET_ACCESS_KEY"] = S3ClusterFixture.Secret,
            ["RCLONE_CONFIG_KEPLER_ENDPOINT"] = cluster.S3Url(1).ToString(),
            ["RCLONE_CONFIG_KEPLER_REGION"] = "us-east-1",
        };
        var source = Path.Combine(home, "src");
        // 12 MiB with a 5 MiB upload cutoff and part size: a multipart upload whose parts are not whole chunks.
        WriteTree(source, ("one.txt", 100), ("nested/two.bin", 300_000), ("big.bin", 12 * 1024 * 1024 + 3));
        await RunAsync("/usr/bin/rclone", ["mkdir", "kepler:cli-rclone"], home, environment);
        await RunAsync("/usr/bin/rclone", ["copy", source, "kepler:cli-rclone/data", "--s3-upload-cutoff", "5M",
            "--s3-chunk-size", "5M"], home, environment);
        var check = await RunAsync("/usr/bin/rclone", ["check", source, "kepler:cli-rclone/data"], home,
            environment);
        var listing = await RunAsync("/usr/bin/rclone", ["lsf", "-R", "kepler:cli-rclone/data"], home, environment);
        Assert.Equal(["big.bin", "nested/", "nested/two.bin", "one.txt"],
            listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        // Sizes and MD5s compared for every file (the multipart one by the MD5 rclone stores in its metadata).
        Assert.Contains("0 differences found", check, StringComparison.Ordinal);
        Assert.Contains("3 matching files", check, StringComparison.Ordinal);
        Assert.DoesNotContain("could not be checked", check, StringComparison.Ordinal);
    }

    [Fact]
    public async Task S3cmd_put_get_ls_del()
    {
        var home = cluster.TempPath("s3cmd-home");
        Directory.CreateDirectory(home);
        var config = Path.Combine(home, "s3cfg");
        var host = $"127.0.0.1:{cluster.S3Ports[2].ToString(CultureInfo.InvariantCulture)}";
        File.WriteAllText(config, $"""
            [default]
            access_key = {S3ClusterFixture.AccessKey}
            secret_key = {S3ClusterFixture.Secret}
            host_base = {host}
            host_bucket = {host}
            use_https = False
            signature_v2 = False
            bucket_location = us-east-1
            """);
        Task<string> S3cmd(params string[] args) => RunAsync("/usr/bin/s3cmd", ["-c", config, .. args], home);

        var file = Path.Combine(home, "file.bin");
        File.WriteAllBytes(file, Nodes.RandomBytes(1_000_000));
        await S3cmd("mb", "s3://cli-s3cmd");
        await S3cmd("put", file, "s3://cli-s3cmd/some/file.bin");
        Assert.Contains("s3://cli-s3cmd/some/file.bin", await S3cmd("ls", "-r", "s3://cli-s3cmd"),
            StringComparison.Ordinal);
        var back = Path.Combine(home, "back.bin");
        await S3cmd("get", "s3://cli-s3cmd/some/file.bin", back);
        Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(back));
        await S3cmd("del", "s3://cli-s3cmd/some/file.bin");
        Assert.DoesNotContain("file.bin", await S3cmd("ls", "-r", "s3://cli-s3cmd"), StringComparison.Ordinal);
    }
}
