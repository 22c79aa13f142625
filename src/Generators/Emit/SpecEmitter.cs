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
            return $"new {Specs}LayerSpec({Literals.String(spec.Namespace)}, {Literals.String(spec.Name)}, {Literals.String(spec.FullName)}, {Literals.String(spec.Accessibility)}, {Literals.String(spec.ConfigType)}, {Literals.Bool(spec.IsModel)},\n"
                 + $"            {Specs}EquatableArray.Create<{Specs}BlockSpec>(\n                {blocks}),\n"
                 + $"            {ForwardSpecEmitter.Expression(spec.Forward, Dim)})\n"
                 + "        {\n"
                 + $"            Precision = {Nullable(spec.Precision)},\n"
                 + $"            Checkpoint = {Literals.Enum(spec.Checkpoint)},\n"
                 + $"            Budgets = {Specs}EquatableArray.Create<{Specs}ScenarioSpec>({string.Join(", ", spec.Budgets.Select(Scenario))}),\n"
                 + (spec.Lora is { } lora ? $"            Lora = {LoraSpec(lora)},\n" : "")
                 + ForwardBodyEmitter.Initializer(spec)
                 + "        }";
        }

        private static string LoraSpec(LoraSpec lora) =>
            $"new {Specs}LoraSpec({lora.Rank}, {Literals.Number(lora.Alpha)}, {Literals.Number(lora.Dropout)}, {Specs}EquatableArray.Create<string>({string.Join(", ", lora.Targets.Select(Literals.String))}))";

        private static string Block(BlockSpec block)
        {
            var head = $"{Literals.String(block.Name)}, {Literals.String(block.StateName)}";
            var created = block switch
            {
                LinearSpec l => $"new {Specs}LinearSpec({head}, {Dim(l.In)}, {Dim(l.Out)}, {Literals.Bool(l.Bias)})",
                EmbeddingSpec e => $"new {Specs}EmbeddingSpec({head}, {Dim(e.Count)}, {Dim(e.Width)})",
                LayerNormSpec n => $"new {Specs}LayerNormSpec({head}, {Dim(n.Hidden)}, {Literals.Number(n.Eps)}, {Literals.Bool(n.Bias)})",
                RmsNormSpec n => $"new {Specs}RmsNormSpec({head}, {Dim(n.Hidden)}, {Literals.Number(n.Eps)})",
                DropoutSpec d => $"new {Specs}DropoutSpec({head}, {Literals.Number(d.P)})",
                AttentionSpec a => $"new {Specs}AttentionSpec({head}, {Dim(a.Hidden)}, {Dim(a.Heads)}, {Dim(a.KvHeads)}, {Literals.Bool(a.Causal)}, {Literals.Bool(a.Rotary)}, {Literals.Number(a.RopeTheta)}, {Literals.Bool(a.Fused)}, {Literals.Bool(a.Bias)}, {Literals.Number(a.DropoutP)})",
                PoolerSpec pooler => $"new {Specs}PoolerSpec({head}, {Dim(pooler.Hidden)})",
                FeedForwardSpec f => $"new {Specs}FeedForwardSpec({head}, {Dim(f.Hidden)}, {Dim(f.Inner)}, {Literals.Enum(f.Activation)}, {Literals.Bool(f.Bias)})",
                MixtureOfExpertsSpec m => MixtureOfExpertsEmitter.Spec(m, head, Dim),
                LayerRefSpec r => $"new {Specs}LayerRefSpec({head}, {Literals.String(r.LayerType)})",
                StackSpec s => $"new {Specs}StackSpec({head}, {Dim(s.Count)}, {Literals.String(s.LayerType)}, {s.CheckpointEvery})",
                CrossAttentionSpec c => $"new {Specs}CrossAttentionSpec({head}, {Dim(c.Hidden)}, {Dim(c.Heads)}, {Literals.Bool(c.Scaled)}, {Literals.Bool(c.Fused)}, {Literals.Bool(c.Bias)}, {Literals.Number(c.DropoutP)})",
                RelativeAttentionSpec r => $"new {Specs}RelativeAttentionSpec({head}, {Dim(r.Hidden)}, {Dim(r.Heads)}, {Literals.Bool(r.Causal)}, {Literals.Long(r.Buckets)}, {Literals.Long(r.MaxDistance)}, {Literals.Bool(r.Scaled)}, {Literals.Bool(r.Bias)}, {Literals.Number(r.DropoutP)})",
                _ => throw new System.ArgumentOutOfRangeException(nameof(block), block.GetType().Name),
            };
            var policies = new System.Collections.Generic.List<string>();
            if (block.Precision is { } p)
                policies.Add($"Precision = {Literals.Enum(p)}");
            if (block.Shard != ShardStyle.None)
                policies.Add($"Shard = {Literals.Enum(block.Shard)}");
            if (block.Quant is { } q)
                policies.Add($"Quant = new {Specs}QuantSpec({Literals.Enum(q.Kind)}, {q.GroupSize}, {Literals.Bool(q.DoubleQuant)})");
            if (block.Frozen)
                policies.Add("Frozen = true");
            if (block.TiedTo is { } tie)
                policies.Add($"TiedTo = {Literals.String(tie)}");
            if (block.Lora is { } blockLora)
                policies.Add("Lora = " + LoraSpec(blockLora));
            if (block is EmbeddingSpec { Role: not EmbeddingRole.Tokens } embedding)
                policies.Add($"Role = {Literals.Enum(embedding.Role)}");
            if (block is AttentionSpec { SlidingWindow: { } window })
                policies.Add($"SlidingWindow = {Literals.Long(window)}");
            if (block is LinearSpec { Head: { } headKind })
                policies.Add($"Head = {Literals.Enum(headKind)}");
            return policies.Count == 0 ? created : created + " { " + string.Join(", ", policies) + " }";
        }

        private static string Scenario(ScenarioSpec s)
        {
            var text = $"new {Specs}ScenarioSpec({Literals.Number(s.Gigabytes)}, {Literals.Enum(s.Workload)}, {Literals.Long(s.SequenceLength)}, {Literals.Long(s.Batch)}, {Literals.Enum(s.Optimizer)})";
            var extras = new System.Collections.Generic.List<string>();
            if (s.Gpu is { } gpu)
                extras.Add($"Gpu = {Literals.String(gpu)}");
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
            ? $"{Specs}Dim.Literal({Literals.Long(dim.Value)})"
            : $"new {Specs}Dim({Literals.String(dim.Member)}, config.{Literals.Identifier(dim.Member)})";

        private static string Nullable(DType? dtype) => dtype is { } d ? Literals.Enum(d) : "null";


    }
}
