using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using ModelGen.Tool.Output;

namespace ModelGen.Tool.Tests;

public sealed class PlanCommandTests
{
    private static readonly JsonSchema Schema = JsonSchema.FromText(JsonReport.Schema());

    [Fact]
    public void Plan_of_the_Llama_sample_matches_the_analyzers_diagnostics_byte_for_byte()
    {
        var diagnostics = AnalyzerRun.BudgetDiagnostics("samples/Llama/Llama.cs", "samples/Llama/LlamaConfig.cs");
        var (exit, output, error) = ToolRun.Run("plan", ToolRun.Sample("Llama"), "--json");

        Assert.True(exit == 0, error);
        var scenarios = JsonNode.Parse(output)!["models"]![0]!["scenarios"]!.AsArray();
        Assert.Equal(2, scenarios.Count);
        // The analyzer reports per [VramBudget] attribute, in source order: group its diagnostics by attribute.
        var perBudget = diagnostics.GroupBy(d => d.Location.SourceSpan.Start).OrderBy(g => g.Key).ToList();
        Assert.Equal(2, perBudget.Count);
        for (var i = 0; i < 2; i++)
        {
            var scenario = scenarios[i]!;
            var analyzer = perBudget[i].ToList();
            var tool = scenario["diagnostics"]!.AsArray().Select(d => (Id: (string)d!["id"]!, Message: (string)d["message"]!)).ToList();
            Assert.Equal(analyzer.Select(d => (d.Id, d.GetMessage(CultureInfo.InvariantCulture))).OrderBy(d => d.Id), tool.OrderBy(d => d.Id));
            // The exact peak the analyzer carries in its properties is the tool's peak.
            Assert.Equal(long.Parse(analyzer[0].Properties["PeakBytes"]!, CultureInfo.InvariantCulture), (long)scenario["estimate"]!["peakBytes"]!);
            Assert.Equal(long.Parse(analyzer[0].Properties["BudgetBytes"]!, CultureInfo.InvariantCulture), (long)scenario["budget"]!["bytes"]!);
            Assert.Equal(analyzer[0].Properties["PeakPhase"], (string)scenario["estimate"]!["peakPhase"]!);
        }
        // Training at 8192 on 24 GB does not fit (MG0001); inference does (MG0002), as the sample's build prints.
        Assert.Equal("MG0001", perBudget[0].First().Id);
        Assert.False((bool)scenarios[0]!["fits"]!);
        Assert.Equal("MG0002", perBudget[1].First().Id);
        Assert.True((bool)scenarios[1]!["fits"]!);
    }

    [Theory]
    [InlineData("llama-3-8b.config.json")]
    [InlineData("bert-base-uncased.config.json")]
    public void Json_output_follows_its_schema(string fixture)
    {
        var (exit, output, error) = ToolRun.Run("plan", ToolRun.Fixture(fixture), "--gpu", "RTX 4090", "--json");

        Assert.True(exit == 0, error);
        var result = Validate(output);
        Assert.True(result.IsValid, string.Join("\n", (result.Details ?? new List<EvaluationResults>()).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
    }

    [Fact]
    public void Json_output_of_the_sample_with_problems_and_without_a_budget_also_follows_its_schema()
    {
        // ZeRO stage 5 does not exist (a problem, no estimate); the config fixture has no budget at all.
        foreach (var args in new[] { new[] { "plan", ToolRun.Sample("Gpt2"), "--zero", "5", "--json" }, new[] { "plan", ToolRun.Fixture("gpt2.config.json"), "--json" } })
        {
            var (_, output, error) = ToolRun.Run(args);
            Assert.True(Validate(output).IsValid, error + output);
        }
    }

    [Fact]
    public void The_schema_rejects_output_that_breaks_it()
    {
        var (_, output, _) = ToolRun.Run("plan", ToolRun.Fixture("gpt2.config.json"), "--json");
        var broken = JsonNode.Parse(output)!;
        broken["models"]![0]!["scenarios"]![0]!["estimate"]!["peakBytes"] = "a lot";

        Assert.False(Validate(broken.ToJsonString()).IsValid);
    }

    private static EvaluationResults Validate(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    [Fact]
    public void Fail_over_budget_exits_1_when_a_budget_is_exceeded_and_0_when_all_fit()
    {
        Assert.Equal(1, ToolRun.Run("plan", ToolRun.Sample("Llama"), "--fail-over-budget").Exit);
        Assert.Equal(0, ToolRun.Run("plan", ToolRun.Sample("Llama")).Exit); // without the flag the plan is only a report
        Assert.Equal(0, ToolRun.Run("plan", ToolRun.Sample("Gpt2"), "--fail-over-budget").Exit);
        Assert.Equal(1, ToolRun.Run("plan", ToolRun.Sample("Gpt2"), "--gpu", "RTX 3060", "--seq", "4096", "--fail-over-budget").Exit);
    }

    [Fact]
    public void Console_output_shows_the_breakdown_per_phase_the_fitting_cards_and_the_remedies()
    {
        var (exit, output, _) = ToolRun.Run("plan", ToolRun.Sample("Llama"));

        Assert.Equal(0, exit);
        Assert.Contains("[VramBudget] 1: seq 8192 (training, batch 1, AdamW) · budget 24 GB from attribute", output);
        Assert.Contains("optimizer step", output);
        Assert.Contains("over budget: needs", output);
        Assert.Contains("[VramBudget] 2: seq 8192 (inference, batch 1, no optimizer)", output);
        Assert.Contains("prefill", output);
        Assert.Contains("fits on: ", output);
        Assert.Contains("largest that fits: seq ", output);
        Assert.Contains("keep the optimizer state in host RAM", output);
        // Each phase column adds up: the apportioned terms sum to the printed total, as in MG0001's message.
        var table = output.Split('\n').SkipWhile(l => !l.Contains("│ GB")).TakeWhile(l => !l.StartsWith('╰')).Where(l => l.StartsWith('│')).Skip(1).ToList();
        var rows = table.Select(l => l.Split('│', System.StringSplitOptions.RemoveEmptyEntries | System.StringSplitOptions.TrimEntries)).ToList();
        for (var column = 1; column < rows[0].Length; column++)
        {
            var sum = rows.Take(rows.Count - 1).Sum(r => decimal.Parse(r[column], CultureInfo.InvariantCulture));
            Assert.Equal(decimal.Parse(rows[^1][column], CultureInfo.InvariantCulture), sum);
        }
    }

    [Fact]
    public void Lora_at_the_prompt_trains_only_the_adapters_the_remedy_would_add()
    {
        var (exit, output, error) = ToolRun.Run("plan", ToolRun.Sample("Llama"), "--lora", "16", "--quantize", "nf4", "--json");
        Assert.True(exit == 0, error);
        var model = JsonNode.Parse(output)!["models"]![0]!;
        // Llama-3-8B, r = 16 on q/k/v/o and gate/up/down of 32 layers: 41,943,040 adapter parameters (docs/lora.md).
        Assert.Equal(41_943_040L, (long)model["trainableParameterCount"]!);
        Assert.True((long)model["parameterCount"]! > 8_000_000_000L);
    }

    [Fact]
    public void Command_line_overrides_change_the_scenario_and_the_budget()
    {
        var (exit, output, error) = ToolRun.Run("plan", ToolRun.Sample("Llama"), "--gpu", "h200", "--workload", "inference", "--seq", "4096",
            "--batch", "2", "--quantize", "nf4", "--json");
        Assert.True(exit == 0, error);
        var scenario = JsonNode.Parse(output)!["models"]![0]!["scenarios"]![0]!;

        Assert.Equal("H200", (string)scenario["budget"]!["gpu"]!);
        Assert.Equal("command line", (string)scenario["budget"]!["source"]!);
        // What a process can use on an H200, as the analyzers settle it (docs/gpu-catalog.md).
        Assert.Equal(139.8, (double)scenario["budget"]!["gigabytes"]!, 3);
        Assert.Equal("inference", (string)scenario["settings"]!["workload"]!);
        Assert.Equal(4096, (long)scenario["settings"]!["sequenceLength"]!);
        Assert.Equal(2, (long)scenario["settings"]!["batch"]!);
        Assert.Equal(new[] { "prefill", "decode" }, scenario["estimate"]!["phases"]!.AsArray().Select(p => (string)p!["phase"]!));

        // --quantize applies to Linear blocks, as [Quantize] does: in the sample that is the head (128256 × 4096), whose bf16 weight
        // (1 GB) becomes NF4 (4.5 bits per weight with fp32 absmax per 64), so the weights drop by more than 0.7 GB.
        var plain = JsonNode.Parse(ToolRun.Run("plan", ToolRun.Sample("Llama"), "--gpu", "h200", "--workload", "inference", "--seq", "4096", "--batch", "2", "--json").Out)!;
        long Weights(JsonNode s) => (long)s["estimate"]!["phases"]![0]!["terms"]!["weights"]!;
        Assert.InRange(Weights(plain["models"]![0]!["scenarios"]![0]!) - Weights(scenario), 700L << 20, 1L << 30);
    }

    [Fact]
    public void Gigabytes_alone_replaces_the_declared_budget()
    {
        var (_, output, _) = ToolRun.Run("plan", ToolRun.Sample("Gpt2"), "--gb", "2", "--json");
        var budget = JsonNode.Parse(output)!["models"]![0]!["scenarios"]![0]!["budget"]!;

        Assert.Equal(2.0, (double)budget["gigabytes"]!);
        Assert.Equal("command line", (string)budget["source"]!);
    }

    [Fact]
    public void An_invalid_parallel_plan_is_reported_with_its_diagnostic_and_no_numbers()
    {
        var (exit, output, _) = ToolRun.Run("plan", ToolRun.Sample("Gpt2"), "--dp", "2", "--zero", "5", "--json", "--fail-over-budget");
        var scenario = JsonNode.Parse(output)!["models"]![0]!["scenarios"]![0]!;

        Assert.Equal(1, exit);
        Assert.Null(scenario["estimate"]);
        Assert.Contains(scenario["problems"]!.AsArray(), p => ((string)p!["id"]!).StartsWith("MG02", System.StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new[] { "plan", "/nonexistent/model.dll" }, "No such assembly")]
    [InlineData(new[] { "plan", "/nonexistent/config.json" }, "No such file")]
    [InlineData(new[] { "plan", "/nonexistent/dir" }, "No such project, assembly or config")]
    [InlineData(new[] { "plan", "FIXTURE", "--gpu", "RTX 9999" }, "is not in the catalog")]
    [InlineData(new[] { "plan", "SAMPLE", "--preset", "Huge" }, "has no public static preset 'Huge'; it has: Tiny")]
    [InlineData(new[] { "plan", "SAMPLE", "--model", "Gpt3" }, "has no [Model] class named 'Gpt3'")]
    [InlineData(new[] { "plan", "FIXTURE", "--chart", "/tmp/chart.gif" }, "must end in .svg or .png")]
    [InlineData(new[] { "plan", "FIXTURE", "--gb", "0" }, "a budget is a positive number of GB")]
    [InlineData(new[] { "plan", "FIXTURE", "--gb", "NaN" }, "a budget is a positive number of GB")]
    public void Bad_input_exits_2_with_one_clear_line(string[] args, string expected)
    {
        var resolved = args.Select(a => a == "FIXTURE" ? ToolRun.Fixture("gpt2.config.json") : a == "SAMPLE" ? ToolRun.Sample("Gpt2") : a).ToArray();
        var (exit, _, error) = ToolRun.Run(resolved);

        Assert.Equal(2, exit);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void A_config_without_a_budget_is_planned_for_the_command_lines_scenario_without_complaint()
    {
        var (exit, output, _) = ToolRun.Run("plan", ToolRun.Fixture("gpt2.config.json"), "--json");
        var scenario = JsonNode.Parse(output)!["models"]![0]!["scenarios"]![0]!;

        Assert.Equal(0, exit);
        Assert.Equal("command line", (string)scenario["origin"]!);
        Assert.Equal(1024, (long)scenario["settings"]!["sequenceLength"]!); // min(2048, n_positions)
        Assert.Null(scenario["budget"]);
        Assert.Null(scenario["fits"]);
        Assert.Empty(scenario["problems"]!.AsArray());
        Assert.NotEmpty(scenario["cards"]!.AsArray());
    }

    [Fact]
    public void A_preset_plans_the_config_of_that_name()
    {
        var (_, output, _) = ToolRun.Run("plan", ToolRun.Sample("Gpt2"), "--preset", "Tiny", "--json");
        var model = JsonNode.Parse(output)!["models"]![0]!;

        Assert.Contains("Gpt2Config.Tiny", (string)model["source"]!);
        Assert.True((long)model["parameterCount"]! < 1_000_000);
    }

    [Fact]
    public void Unknown_option_values_are_refused_by_the_parser()
    {
        var (exit, _, error) = ToolRun.Run("plan", ToolRun.Fixture("gpt2.config.json"), "--precision", "fp8");

        Assert.NotEqual(0, exit);
        Assert.Contains("'fp8' is not one of: fp32, bf16 or fp16", error);
    }

    [Fact]
    public void Schema_command_prints_the_schema()
    {
        var (exit, output, _) = ToolRun.Run("schema");

        Assert.Equal(0, exit);
        Assert.Equal("modelgen-plan-1", (string)JsonNode.Parse(output)!["$id"]!);
    }
}
