using System.Globalization;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>
    /// Writes C# expressions that rebuild a layer's spec at run time from a config instance, so the runtime planner and reports
    /// feed the same memory model the analyzers use, with the sizes the program actually runs with.
    /// </summary>
    internal static class SpecEmitter
    {
        private const string Specs = "global::ModelGen.Specs.";

        public static string Layer(LayerSpec spec)
        {
            var blocks = string.Join(",\n                ", spec.Blocks.Select(Block));
            return $"new {Specs}LayerSpec(\"{spec.Namespace}\", \"{spec.Name}\", \"{spec.FullName}\", \"{spec.Accessibility}\", \"{spec.ConfigType}\", {Literals.Bool(spec.IsModel)},\n"
                 + $"            {Specs}EquatableArray.Create<{Specs}BlockSpec>(\n                {blocks}),\n"
                 + $"            new {Specs}ForwardSpec(\"{spec.Forward.MethodName}\", \"{spec.Forward.ParameterName}\"))\n"
                 + "        {\n"
                 + $"            Precision = {Nullable(spec.Precision)},\n"
                 + $"            Checkpoint = global::ModelGen.CheckpointMode.{spec.Checkpoint},\n"
                 + $"            Budgets = {Specs}EquatableArray.Create<{Specs}ScenarioSpec>({string.Join(", ", spec.Budgets.Select(Scenario))}),\n"
                 + "        }";
        }

        private static string Block(BlockSpec block)
        {
            var head = $"\"{block.Name}\", \"{block.StateName}\"";
            var created = block switch
            {
                LinearSpec l => $"new {Specs}LinearSpec({head}, {Dim(l.In)}, {Dim(l.Out)}, {Literals.Bool(l.Bias)})",
                EmbeddingSpec e => $"new {Specs}EmbeddingSpec({head}, {Dim(e.Count)}, {Dim(e.Width)})",
                LayerNormSpec n => $"new {Specs}LayerNormSpec({head}, {Dim(n.Hidden)}, {Literals.Number(n.Eps)}, {Literals.Bool(n.Bias)})",
                RmsNormSpec n => $"new {Specs}RmsNormSpec({head}, {Dim(n.Hidden)}, {Literals.Number(n.Eps)})",
                DropoutSpec d => $"new {Specs}DropoutSpec({head}, {Literals.Number(d.P)})",
                AttentionSpec a => $"new {Specs}AttentionSpec({head}, {Dim(a.Hidden)}, {Dim(a.Heads)}, {Dim(a.KvHeads)}, {Literals.Bool(a.Causal)}, {Literals.Bool(a.Rotary)}, {Literals.Number(a.RopeTheta)}, {Literals.Bool(a.Fused)}, {Literals.Bool(a.Bias)}, {Literals.Number(a.DropoutP)})",
                FeedForwardSpec f => $"new {Specs}FeedForwardSpec({head}, {Dim(f.Hidden)}, {Dim(f.Inner)}, global::ModelGen.FeedForwardActivation.{f.Activation}, {Literals.Bool(f.Bias)})",
                LayerRefSpec r => $"new {Specs}LayerRefSpec({head}, \"{r.LayerType}\")",
                StackSpec s => $"new {Specs}StackSpec({head}, {Dim(s.Count)}, \"{s.LayerType}\", {s.CheckpointEvery})",
                _ => throw new System.ArgumentOutOfRangeException(nameof(block), block.GetType().Name),
            };
            var policies = new System.Collections.Generic.List<string>();
            if (block.Precision is { } p)
                policies.Add($"Precision = global::ModelGen.DType.{p}");
            if (block.Shard != ShardStyle.None)
                policies.Add($"Shard = global::ModelGen.ShardStyle.{block.Shard}");
            if (block.Quant is { } q)
                policies.Add($"Quant = new {Specs}QuantSpec(global::ModelGen.QuantKind.{q.Kind}, {q.GroupSize}, {Literals.Bool(q.DoubleQuant)})");
            if (block.Frozen)
                policies.Add("Frozen = true");
            if (block.TiedTo is { } tie)
                policies.Add($"TiedTo = \"{tie}\"");
            return policies.Count == 0 ? created : created + " { " + string.Join(", ", policies) + " }";
        }

        private static string Scenario(ScenarioSpec s)
        {
            var text = $"new {Specs}ScenarioSpec({Literals.Number(s.Gigabytes)}, global::ModelGen.Workload.{s.Workload}, {s.SequenceLength}, {s.Batch}, global::ModelGen.Optimizer.{s.Optimizer})";
            var extras = new System.Collections.Generic.List<string>();
            if (s.Gpu is { } gpu)
                extras.Add($"Gpu = \"{gpu.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"");
            if (s.TensorParallel != 1)
                extras.Add($"TensorParallel = {s.TensorParallel}");
            if (s.DataParallel != 1)
                extras.Add($"DataParallel = {s.DataParallel}");
            if (s.ZeroStage != 0)
                extras.Add($"ZeroStage = {s.ZeroStage}");
            if (s.OffloadOptimizer)
                extras.Add("OffloadOptimizer = true");
            if (s.OffloadParameters)
                extras.Add("OffloadParameters = true");
            if (s.SequenceParallel)
                extras.Add("SequenceParallel = true");
            return extras.Count == 0 ? text : text + " { " + string.Join(", ", extras) + " }";
        }

        /// <summary>A size read from the running config: <c>new Dim("Hidden", config.Hidden)</c>.</summary>
        private static string Dim(Dim dim) => dim.Member is null
            ? $"{Specs}Dim.Literal({dim.Value.ToString(CultureInfo.InvariantCulture)})"
            : $"new {Specs}Dim(\"{dim.Member}\", config.{dim.Member})";

        private static string Nullable(DType? dtype) => dtype is { } d ? "global::ModelGen.DType." + d : "null";


    }
}
