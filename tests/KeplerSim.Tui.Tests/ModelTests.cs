using KeplerSim.Tui.Model;
using KeplerSim.Tui.ViewModel;

namespace KeplerSim.Tui.Tests;

[Trait("Category", "Fast")]
public sealed class ModelTests
{
    [Fact]
    public void Record_text_from_the_trace_parses_into_kind_and_fields()
    {
        var (kind, fields) = EventText.Parse(
            "member.suspect MemberSuspectEvent { Kind = member.suspect, Member = n3, Incarnation = 2, From = n1 }");
        Assert.Equal("member.suspect", kind);
        Assert.Equal("n3", fields["member"]);
        Assert.Equal("2", fields["incarnation"]);
        Assert.Equal("n1", fields["from"]);
        Assert.False(fields.ContainsKey("kind"));
    }

    [Fact]
    public void A_reason_with_commas_stays_one_field()
    {
        var (_, fields) = EventText.Parse(
            "chunk.retry ReplicationRetry { ChunkId = ab, Target = n2, Attempts = 3, Reason = timed out, refused }");
        Assert.Equal("timed out, refused", fields["reason"]);
        Assert.Equal("3", fields["attempts"]);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("}{ = , = {")]
    [InlineData("kind-only")]
    public void Garbage_detail_gives_no_fields_and_no_exception(string? detail)
    {
        var (_, fields) = EventText.Parse(detail);
        Assert.DoesNotContain("member", fields.Keys);
    }

    [Fact]
    public void Fold_follows_suspect_then_dead_and_a_refutation_back_to_alive()
    {
        var fold = new EventFold();
        fold.Apply(Ev.Member(1, "member.alive", "n3", 0, "n1"));
        Assert.Equal((MemberState.Alive, 0L), fold.Swim("n3"));
        fold.Apply(Ev.Member(2, "member.suspect", "n3", 0, "n1"));
        Assert.Equal(MemberState.Suspect, fold.Swim("n3")!.Value.State);
        fold.Apply(Ev.Member(4, "member.dead", "n3", 0, "n2"));
        Assert.Equal(MemberState.Dead, fold.Swim("n3")!.Value.State);
        fold.Apply(Ev.At(5, "n3", "member.refute", ("member", "n3"), ("incarnation", "1"), ("accused", "0")));
        Assert.Equal((MemberState.Alive, 1L), fold.Swim("n3"));
        Assert.Null(fold.Swim("n9"));
        Assert.Equal("5.000s", fold.LastHeard("n3")!.TimeText);
    }

    [Fact]
    public void Progress_sums_nodes_and_a_crash_forgets_the_crashed_nodes_report()
    {
        var fold = new EventFold();
        Assert.Null(fold.Progress());
        fold.Apply(Ev.At(1, "n1", "replication.progress", ("chunksLeft", "30"), ("bytesLeft", "3000"),
            ("chunksPerSecond", "2.5"), ("etaMicroseconds", "12000000")));
        fold.Apply(Ev.At(1, "n2", "replication.progress", ("chunksLeft", "10"), ("bytesLeft", "1000"),
            ("chunksPerSecond", "1.5"), ("etaMicroseconds", "7000000")));
        Assert.Equal(new RepairProgress(40, 4000, 4.0, 12_000_000), fold.Progress());
        Assert.Equal(10, fold.QueueDepth("n2"));
        fold.Apply(Ev.At(2, "n1", "node.crashed"));
        Assert.Equal(new RepairProgress(10, 1000, 1.5, 7_000_000), fold.Progress());
    }

    [Fact]
    public void Filter_matches_node_kind_and_words()
    {
        var suspect = Ev.Member(2, "member.suspect", "n3", 0, "n1");
        var replicated = Ev.At(3, "n2", "chunk.replicated", ("chunkId", "abcdef"), ("target", "n4"));
        Assert.True(new EventFilter("").Matches(replicated));
        Assert.True(new EventFilter("node:n3").Matches(suspect));   // about member n3
        Assert.True(new EventFilter("n:n1").Matches(suspect));      // reported by n1
        Assert.False(new EventFilter("node:n3").Matches(replicated));
        Assert.True(new EventFilter("kind:member").Matches(suspect));
        Assert.False(new EventFilter("k:chunk").Matches(suspect));
        Assert.True(new EventFilter("ABCDEF").Matches(replicated));
        Assert.False(new EventFilter("kind:chunk n:n9").Matches(replicated));
    }
}

[Trait("Category", "Fast")]
public sealed class CliTests
{
    private static (int Code, string Output) Run(params string[] args)
    {
        using var output = new StringWriter();
        var code = Program.Build().Parse(args).Invoke(
            new System.CommandLine.InvocationConfiguration { Output = output, Error = output });
        return (code, output.ToString());
    }

    [Fact]
    public void Help_lists_every_source()
    {
        var (code, output) = Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("--node", output);
        Assert.Contains("--scenario", output);
        Assert.Contains("--seed", output);
        Assert.Contains("--replay", output);
    }

    [Theory]
    [InlineData("give exactly one")]
    [InlineData("give exactly one", "--node", "http://127.0.0.1:3001", "--replay", "x.jsonl")]
    [InlineData("--seed goes with --scenario", "--node", "http://127.0.0.1:3001", "--seed", "3")]
    [InlineData("is not an http", "--node", "ftp://x")]
    [InlineData("is not an http", "--node", "::::")]
    public void Bad_arguments_are_refused_with_a_message(string message, params string[] args)
    {
        var (code, output) = Run(args);
        Assert.NotEqual(0, code);
        Assert.Contains(message, output);
    }

    [Fact]
    public void A_missing_scenario_or_trace_file_is_a_clear_error()
    {
        Assert.Equal((Program.ExitBadInput, true), Check(Run("--replay", "/nonexistent/run.jsonl")));
        Assert.Equal((Program.ExitBadInput, true), Check(Run("--scenario", "/nonexistent/s.yaml")));

        static (int, bool) Check((int Code, string Output) r) => (r.Code, r.Output.StartsWith("kepler-tui: ",
            StringComparison.Ordinal));
    }

    [Fact]
    public void Node_url_gets_a_trailing_slash_so_api_paths_resolve_under_it()
    {
        Assert.Equal(new Uri("http://127.0.0.1:3001/"), Program.NodeUrl("http://127.0.0.1:3001"));
        Assert.Null(Program.NodeUrl("127.0.0.1:3001"));
    }
}

[Trait("Category", "Fast")]
public sealed class EventDisplayTests
{
    [Fact]
    public void Display_keeps_the_records_order_and_drops_its_kind()
    {
        Assert.Equal("Member = n3, Incarnation = 2, From = n1", EventText.Display(
            "member.suspect MemberSuspectEvent { Kind = member.suspect, Member = n3, Incarnation = 2, From = n1 }"));
        Assert.Equal("", EventText.Display("x X { Kind = x }"));
        Assert.Equal("plain", EventText.Display("plain"));
    }
}
