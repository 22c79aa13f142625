using ModelGen.Memory;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using ModelGen.Analyzers.Budgets;
using ModelGen.Analyzers.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ModelGen.Analyzers.Tests.Budgets
{
    /// <summary>MG0001's wording, its breakdown adding up, and the properties tools read.</summary>
    public sealed class BudgetMessageTests(ITestOutputHelper output)
    {
        private const string Training24 = "[VramBudget(24, SequenceLength = 8192, Batch = 1, Workload = Workload.Training, Optimizer = Optimizer.AdamW)]";

        [Fact]
        public async Task Llama_8B_training_at_8192_on_24_GB_warns_with_a_breakdown_that_adds_up()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), LlamaSource.Model(Training24));
            foreach (var d in diagnostics)
                output.WriteLine(d.ToString());
            var warning = Assert.Single(diagnostics, d => d.Id == "MG0001");
            Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
            var message = warning.GetMessage(CultureInfo.InvariantCulture);
            var match = Regex.Match(message, @"^'Llama' needs (?<total>\d+\.\d) GB at seq 8192 \(training, batch 1, AdamW\) and exceeds the 24 GB budget: (?<parts>.*) \(peak phase: (?<phase>[a-z ]+)\)$");
            Assert.True(match.Success, message);
            var parts = Regex.Matches(match.Groups["parts"].Value, @"(?<name>[a-z ]+) (?<gb>\d+\.\d) GB(, |$)").Cast<Match>().ToList();
            Assert.Equal(new[] { "weights", "gradients", "optimizer", "activations" }, parts.Take(4).Select(p => p.Groups["name"].Value));
            var tenths = parts.Sum(p => (long)System.Math.Round(double.Parse(p.Groups["gb"].Value, CultureInfo.InvariantCulture) * 10));
            Assert.Equal((long)System.Math.Round(double.Parse(match.Groups["total"].Value, CultureInfo.InvariantCulture) * 10), tenths);

            // The properties carry every term in bytes; they sum to the peak, which is what the total prints.
            var properties = warning.Properties;
            var terms = properties.Where(p => p.Key.StartsWith(BudgetProperties.TermPrefix, System.StringComparison.Ordinal)).ToList();
            Assert.Equal(7, terms.Count);
            var peak = long.Parse(properties[BudgetProperties.PeakBytes]!, CultureInfo.InvariantCulture);
            Assert.Equal(peak, terms.Sum(t => long.Parse(t.Value!, CultureInfo.InvariantCulture)));
            Assert.Equal(match.Groups["total"].Value, Breakdown.Gigabytes(peak));
            Assert.Equal(24L << 30, long.Parse(properties[BudgetProperties.BudgetBytes]!, CultureInfo.InvariantCulture));
            Assert.Equal(match.Groups["phase"].Value, properties[BudgetProperties.PeakPhase]);
            // Llama-3-8B: 8,030,261,248 parameters (embedding and head untied).
            Assert.Equal("8030261248", properties[BudgetProperties.ParameterCount]);
        }

        [Fact]
        public async Task Inference_at_8192_on_24_GB_fits_and_says_nothing_by_default()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), LlamaSource.Model("[VramBudget(24, SequenceLength = 8192, Workload = Workload.Inference)]"));
            // MG0002 is off by default; MG0004 (info, shown in the IDE only) lists the cards.
            Assert.Equal(new[] { "MG0004" }, diagnostics.Select(d => d.Id));
        }

        [Fact]
        public async Task The_fit_report_gives_headroom_and_the_largest_sequence_and_batch_when_switched_on()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(),
                TinySource.Model("[VramBudget(Gpu = \"H100\", SequenceLength = 4096, Batch = 4)]"), ("MG0002", ReportDiagnostic.Info));
            var fits = Assert.Single(diagnostics, d => d.Id == "MG0002");
            var match = Regex.Match(fits.GetMessage(CultureInfo.InvariantCulture),
                @"^'Tiny' fits the 79.1 GB budget at seq 4096 \(training, batch 4, AdamW\): needs (?<need>\d+\.\d) GB, (?<room>\d+\.\d) GB headroom; fits up to seq (?<seq>\d+) at batch 4 and batch (?<batch>\d+) at seq 4096$");
            Assert.True(match.Success, fits.GetMessage(CultureInfo.InvariantCulture));
            var need = double.Parse(match.Groups["need"].Value, CultureInfo.InvariantCulture);
            var room = double.Parse(match.Groups["room"].Value, CultureInfo.InvariantCulture);
            // An H100 gives a process 79.11 GB of its 80 (docs/gpu-catalog.md).
            Assert.InRange(need + room, 79.05, 79.15);
            Assert.True(long.Parse(match.Groups["seq"].Value, CultureInfo.InvariantCulture) >= 4096);
            Assert.True(long.Parse(match.Groups["batch"].Value, CultureInfo.InvariantCulture) >= 4);
        }

        [Fact]
        public async Task Remedies_list_only_changes_that_fit_cheapest_first_and_the_warning_carries_the_cheapest()
        {
            var diagnostics = await AnalyzerRun.Diagnostics(new BudgetAnalyzer(), TinySource.Model("[VramBudget(30, SequenceLength = 4096, Batch = 4)]"));
            var remedies = Assert.Single(diagnostics, d => d.Id == "MG0003").GetMessage(CultureInfo.InvariantCulture);
            var peaks = Regex.Matches(remedies, @": (?<gb>\d+\.\d) GB(; |$)").Cast<Match>().Select(m => double.Parse(m.Groups["gb"].Value, CultureInfo.InvariantCulture)).ToList();
            Assert.NotEmpty(peaks);
            Assert.All(peaks, peak => Assert.True(peak <= 30, remedies));
            Assert.StartsWith("'Tiny' at seq 4096 fits the 30 GB budget with any one of these changes: recompute the attention core of Block", remedies);
            var warning = Assert.Single(diagnostics, d => d.Id == "MG0001");
            Assert.Equal("SelectiveCheckpoint", warning.Properties[BudgetProperties.RemedyKind]);
            Assert.Equal("Block", warning.Properties[BudgetProperties.RemedyLayer]);

            var cards = Assert.Single(diagnostics, d => d.Id == "MG0004").GetMessage(CultureInfo.InvariantCulture);
            Assert.Contains("1× H100", cards, System.StringComparison.Ordinal);
            // The generated modules split [Shard] blocks (RuntimeSupport.GeneratedTensorParallel), so cards may be filled by tensor parallelism.
            Assert.Contains("2× RTX 4090 (tensor parallel", cards, System.StringComparison.Ordinal);
        }
    }
}
