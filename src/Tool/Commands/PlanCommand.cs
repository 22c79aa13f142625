using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using ModelGen.Analyzers.Budgets;
using ModelGen.Tool.Charts;
using ModelGen.Tool.HuggingFace;
using ModelGen.Tool.Loading;
using ModelGen.Tool.Output;
using ModelGen.Tool.Planning;
using Spectre.Console;

namespace ModelGen.Tool.Commands
{
    /// <summary><c>modelgen plan INPUT [options]</c>: the memory plan of a project, a built assembly or a Hugging Face config.json.</summary>
    internal static class PlanCommand
    {
        /// <summary>Exit code when a scenario is over its budget (or cannot be estimated) and <c>--fail-over-budget</c> is given.</summary>
        public const int OverBudget = 1;

        public static Command Create(ToolContext context)
        {
            var input = new Argument<string>("input") { Description = "A project (.csproj or its folder), a built assembly (.dll), or a Hugging Face config.json." };
            var model = new Option<string?>("--model") { Description = "Only the [Model] class of this name." };
            var preset = new Option<string?>("--preset") { Description = "A public static config preset (e.g. Tiny) instead of the config's defaults." };
            var configuration = new Option<string>("--configuration", "-c") { Description = "Build configuration of a project.", DefaultValueFactory = _ => "Release" };
            var build = new Option<bool>("--build") { Description = "Build the project even if its assembly looks up to date." };
            var noBuild = new Option<bool>("--no-build") { Description = "Never build; use the assembly as it is." };
            var gpu = new Option<string?>("--gpu") { Description = "A catalog GPU for every scenario, as the project property ModelGenBudgetGpu does (e.g. \"RTX 4090\")." };
            var gigabytes = new Option<double?>("--gb") { Description = "Budget in GB (2^30 bytes); with --gpu, the memory usable on it." };
            var seq = new Option<long?>("--seq") { Description = "Sequence length." };
            var batch = new Option<long?>("--batch") { Description = "Sequences per step (per data-parallel rank)." };
            var workload = new Option<Workload?>("--workload") { Description = "training or inference.", CustomParser = Parsers.Workload };
            var optimizer = new Option<Optimizer?>("--optimizer") { Description = "adamw, adam8bit, sgd-momentum or sgd.", CustomParser = Parsers.Optimizer };
            var tp = new Option<int?>("--tp") { Description = "Tensor-parallel degree." };
            var dp = new Option<int?>("--dp") { Description = "Data-parallel degree." };
            var zero = new Option<int?>("--zero") { Description = "ZeRO stage 0-3 over the data-parallel ranks." };
            var offloadOptimizer = new Option<bool?>("--offload-optimizer") { Description = "Keep optimizer state in host RAM (true/false)." };
            var offloadParameters = new Option<bool?>("--offload-parameters") { Description = "Keep parameters in host RAM (true/false)." };
            var sequenceParallel = new Option<bool?>("--sequence-parallel") { Description = "Sequence parallelism with tensor parallelism (true/false)." };
            var precision = new Option<DType?>("--precision") { Description = "Storage precision: fp32, bf16 or fp16.", CustomParser = Parsers.Precision };
            var quantize = new Option<QuantKind?>("--quantize") { Description = "Quantize every untied Linear: none, int8, int4 (group 128) or nf4 (block 64).", CustomParser = Parsers.Quantize };
            var lora = new Option<int?>("--lora") { Description = "Train only LoRA adapters of this rank (alpha 2·rank) on every attention and MLP projection; with --quantize nf4, QLoRA." };
            var checkpoint = new Option<CheckpointMode?>("--checkpoint") { Description = "Checkpoint every layer class: none, full or selective.", CustomParser = Parsers.Checkpoint };
            var json = new Option<bool>("--json") { Description = "Write the plan as JSON (schema: `modelgen schema`) instead of tables." };
            var chart = new Option<string?>("--chart") { Description = "Also draw the plan to this .svg or .png file." };
            var font = new Option<string?>("--font") { Description = "A .ttf font file for the chart's text (for systems without fonts)." };
            var fail = new Option<bool>("--fail-over-budget") { Description = "Exit with 1 when a scenario exceeds its budget or cannot be estimated." };

            var command = new Command("plan", "Memory per phase, peak, fitting GPUs, largest sequence and batch, and remedies, for every model and [VramBudget].")
            {
                input, model, preset, configuration, build, noBuild, gpu, gigabytes, seq, batch, workload, optimizer, tp, dp, zero,
                offloadOptimizer, offloadParameters, sequenceParallel, precision, quantize, lora, checkpoint, json, chart, font, fail,
            };
            command.SetAction(parse =>
            {
                var options = new PlanOptions
                {
                    Gpu = parse.GetValue(gpu),
                    Gigabytes = parse.GetValue(gigabytes),
                    SequenceLength = parse.GetValue(seq),
                    Batch = parse.GetValue(batch),
                    Workload = parse.GetValue(workload),
                    Optimizer = parse.GetValue(optimizer),
                    TensorParallel = parse.GetValue(tp),
                    DataParallel = parse.GetValue(dp),
                    ZeroStage = parse.GetValue(zero),
                    OffloadOptimizer = parse.GetValue(offloadOptimizer),
                    OffloadParameters = parse.GetValue(offloadParameters),
                    SequenceParallel = parse.GetValue(sequenceParallel),
                    Precision = parse.GetValue(precision),
                    Quantize = parse.GetValue(quantize),
                    LoraRank = parse.GetValue(lora),
                    Checkpoint = parse.GetValue(checkpoint),
                };
                return context.Guard(() => Run(context, parse.GetValue(input)!, options, new RunSettings(
                    parse.GetValue(model), parse.GetValue(preset), parse.GetValue(configuration)!, parse.GetValue(build), parse.GetValue(noBuild),
                    parse.GetValue(json), parse.GetValue(chart), parse.GetValue(font), parse.GetValue(fail))));
            });
            return command;
        }

        /// <summary>How to load and what to write.</summary>
        internal sealed record RunSettings(string? Model, string? Preset, string Configuration, bool Build, bool NoBuild, bool Json, string? Chart, string? Font, bool FailOverBudget);

        internal static int Run(ToolContext context, string input, PlanOptions options, RunSettings settings)
        {
            if (options.Gpu is { } card && ModelGen.Memory.GpuCatalog.Find(card) is null)
                throw new ToolException($"--gpu \"{card}\" is not in the catalog: {string.Join(", ", ModelGen.Memory.GpuCatalog.All.Select(g => g.Name))}.");
            if (options.Gigabytes is { } gb && !(gb > 0 && !double.IsInfinity(gb)))
                throw new ToolException($"--gb {gb.ToString(CultureInfo.InvariantCulture)}: a budget is a positive number of GB (2^30 bytes).");
            var (models, project) = Load(context, input, settings);
            var report = Planner.Plan(input, models, options, project);
            if (settings.Json)
                context.Out.WriteLine(JsonReport.Serialize(report));
            else
                ConsoleReport.Write(context.Console, report);
            if (settings.Chart is { } path)
            {
                var (width, height) = PlanChart.Write(report, path, settings.Font, out var warning);
                if (warning is not null)
                    context.Error.WriteLine("warning: " + warning);
                if (!settings.Json)
                    context.Console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"chart: {path} ({width}×{height})");
            }
            return settings.FailOverBudget && (report.AnyOverBudget || report.AnyProblem) ? OverBudget : 0;
        }

        private static (System.Collections.Generic.IReadOnlyList<LoadedModel> Models, ProjectBudget Project) Load(ToolContext context, string input, RunSettings settings)
        {
            if (HuggingFaceConfig.IsConfigPath(input))
            {
                var config = HuggingFaceConfig.Read(input);
                if (settings.Preset is not null)
                    throw new ToolException("--preset applies to a built model's config type, not to a config.json.");
                return (new[] { new LoadedModel(config.Spec.Root.Name, $"{Path.GetFileName(input)} ({config.Family} family)", config.Spec, config.MaxPositions) }, ProjectBudget.None);
            }
            if (input.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
                return (AssemblyModels.Load(input, settings.Preset, settings.Model), ProjectBudget.None);

            var project = ProjectBuild.FindProject(input);
            var built = new ProjectBuild(context.Processes).Prepare(project, settings.Configuration, settings.Build, settings.NoBuild);
            if (built.Built && !settings.Json)
                context.Console.MarkupLineInterpolated($"[grey]built {Path.GetFileName(project)}[/]");
            double? projectGigabytes = null;
            if (built.BudgetGigabytes is { } text)
            {
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value > 0) || double.IsInfinity(value))
                    throw new ToolException($"The project's ModelGenBudgetGigabytes is '{text}', not a positive number.");
                projectGigabytes = value;
            }
            return (AssemblyModels.Load(built.TargetPath, settings.Preset, settings.Model), new ProjectBudget(built.BudgetGpu, projectGigabytes));
        }
    }
}
