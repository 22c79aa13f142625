using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Tool.Planning;
using Spectre.Console;

namespace ModelGen.Tool.Output
{
    /// <summary>
    /// Renders a plan for a person: per model and scenario, the breakdown table per phase (peak column marked), the verdict against
    /// the budget, the largest sequence length and batch that fit, the catalog cards and the remedies. GB are 2^30 bytes, printed
    /// with <see cref="Breakdown"/> as the diagnostics print them.
    /// </summary>
    internal static class ConsoleReport
    {
        public static void Write(IAnsiConsole console, PlanReport report)
        {
            foreach (var model in report.Models)
            {
                console.Write(new Rule($"[bold]{Markup.Escape(model.Name)}[/]").LeftJustified());
                console.MarkupLineInterpolated($"[grey]{model.Source}[/]");
                console.MarkupLineInterpolated($"{model.ParameterCount:N0} parameters ({model.TrainableParameterCount:N0} trainable)");
                foreach (var scenario in model.Scenarios)
                    WriteScenario(console, scenario);
            }
        }

        /// <summary>A phase's terms as <c>Breakdown.Format</c> apportions them (every term shown, the parts summing to the total).</summary>
        internal static (string Total, Dictionary<string, string> Parts) PhaseColumn(PhaseInfo phase)
        {
            var (total, text) = Breakdown.Format(MemoryTerms.All.Select(t => (t, phase.Terms.GetValueOrDefault(t))).ToList(), MemoryTerms.All.ToList());
            // "weights 15.0 GB, kv cache 0.0 GB, …": the value is the second-last word of each part.
            var parts = text.Split(", ").Select(part => part.Split(' ')).ToDictionary(words => string.Join(' ', words[..^2]), words => words[^2]);
            return (total, parts);
        }

        private static void WriteScenario(IAnsiConsole console, ScenarioPlan scenario)
        {
            console.WriteLine();
            var budget = scenario.Budget is { } b ? $" · budget {Breakdown.Budget(b.Gigabytes)} GB" + (b.Gpu is null ? "" : $" ({b.Gpu})") + $" from {b.Source}" : " · no budget";
            console.MarkupLineInterpolated($"[bold underline]{scenario.Origin}[/]: {scenario.Settings.Text}{budget}");
            foreach (var problem in scenario.Problems)
                console.MarkupLineInterpolated($"[yellow]{problem.Id}[/]: {problem.Message}");
            if (scenario.Estimate is not { } estimate)
                return;

            // Each column is apportioned as MG0001 apportions its breakdown, so the printed terms add up to the printed total.
            var columns = estimate.Phases.Select(PhaseColumn).ToList();
            var table = new Table().Border(TableBorder.Rounded).AddColumn("GB");
            foreach (var phase in estimate.Phases)
                table.AddColumn(new TableColumn(phase.Phase == estimate.PeakPhase ? $"[bold]{Markup.Escape(phase.Phase)} (peak)[/]" : Markup.Escape(phase.Phase)).RightAligned());
            foreach (var term in MemoryTerms.All)
            {
                if (estimate.Phases.All(p => p.Terms.GetValueOrDefault(term) == 0))
                    continue;
                table.AddRow(new[] { Markup.Escape(term) }.Concat(columns.Select(c => c.Parts[term])).ToArray());
            }
            table.AddRow(new[] { "[bold]total[/]" }.Concat(columns.Select(c => $"[bold]{c.Total}[/]")).ToArray());
            console.Write(table);

            var verdict = scenario.Fits switch
            {
                true => $"[green]fits[/]: {estimate.PeakGigabytes} GB, {Breakdown.Gigabytes(scenario.HeadroomBytes!.Value)} GB headroom",
                false => $"[red]over budget[/]: needs {estimate.PeakGigabytes} GB, {Breakdown.Gigabytes(-scenario.HeadroomBytes!.Value)} GB too much",
                null => $"needs {estimate.PeakGigabytes} GB",
            };
            console.MarkupLine($"{verdict} (peak phase: {Markup.Escape(estimate.PeakPhase)}): {Markup.Escape(estimate.BreakdownText)}");
            if (estimate.HostBytes > 0)
                console.MarkupLineInterpolated($"host RAM beside it: {Breakdown.Gigabytes(estimate.HostBytes)} GB");
            if (scenario.MaxSequenceLength is { } seq && scenario.MaxBatch is { } batch)
            {
                console.MarkupLine(seq == 0 && batch == 0
                    ? "largest that fits: [red]nothing[/], not even seq 1 at batch 1"
                    : string.Create(CultureInfo.InvariantCulture, $"largest that fits: seq {seq} at batch {scenario.Settings.Batch}; batch {batch} at seq {scenario.Settings.SequenceLength}"));
            }
            if (scenario.Cards.Count > 0)
            {
                var cards = string.Join(", ", scenario.Cards.OrderBy(c => c.Devices).Select(c =>
                    $"{c.Devices}× {c.Card}" + (c.Spread == "single" ? "" : $" ({c.Spread})")));
                console.MarkupLineInterpolated($"fits on: {cards}");
            }
            else
            {
                console.MarkupLine("fits on: [red]no catalog card, even 8 of a kind[/]");
            }
            if (scenario.Remedies.Count > 0)
            {
                var remedies = new Table().Border(TableBorder.Simple).AddColumn("remedy").AddColumn(new TableColumn("peak GB").RightAligned())
                    .AddColumn(new TableColumn("saves GB").RightAligned()).AddColumn("fits");
                foreach (var remedy in scenario.Remedies)
                    remedies.AddRow(Markup.Escape(remedy.Description), Breakdown.Gigabytes(remedy.PeakBytes), Breakdown.Gigabytes(remedy.SavingBytes), remedy.Fits ? "[green]yes[/]" : "no");
                console.Write(remedies);
            }
        }
    }
}
