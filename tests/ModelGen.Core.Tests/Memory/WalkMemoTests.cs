using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;
using ModelGen.Memory;
using ModelGen.Specs;
using Xunit;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// A walk replayed from a <see cref="WalkMemo"/> is the walk computed afresh: over models with stacks, nested sublayers, LoRA scopes,
    /// forward-body ops, dropout widths through sublayers and sharded blocks, and over many mutated variants of them (seeded, so a
    /// failure reproduces), all estimated through ONE memo so that a stale walk would be replayed if any part of the key were missing.
    /// </summary>
    public sealed class WalkMemoTests
    {
        private static readonly DType?[] Precisions = { null, DType.BFloat16, DType.Float16, DType.Float32 };

        [Fact]
        public void Replayed_walks_and_estimates_equal_fresh_ones_for_mutated_models()
        {
            var memo = new WalkMemo();
            var random = new Random(20261130);
            var compared = 0;
            foreach (var model in TestModels())
            {
                var variants = new List<ModelSpec> { model };
                for (var i = 0; i < 24; i++)
                    variants.Add(Mutate(variants[random.Next(variants.Count)], random));
                foreach (var variant in variants)
                {
                    foreach (var (scenario, device) in Scenarios().SelectMany(s => new[] { (s, DeviceProfile.Cuda), (s, DeviceProfile.Cpu) }))
                    {
                        var fresh = Capture(() => Describe(MemoryModel.Estimate(variant, scenario, device), scenario));
                        var replayed = Capture(() => Describe(MemoryModel.EstimateUsing(variant, scenario, device, memo), scenario));
                        Assert.Equal(fresh, replayed);
                        foreach (var pass in Passes(scenario, device))
                        {
                            var walk = Capture(() => Describe(ModelWalk.Run(variant, pass, scenario.SequenceParallel)));
                            Assert.Equal(walk, Capture(() => Describe(ModelWalk.Run(variant, pass, scenario.SequenceParallel, memo))));
                        }
                        compared++;
                    }
                }
            }
            Assert.True(compared > 500, $"{compared} comparisons");
            // The comparisons above mean something only if walks were replayed, and some were not (mutations miss).
            Assert.True(memo.Replayed > 1000, $"{memo.Replayed} replayed");
            Assert.True(memo.Walked > 100, $"{memo.Walked} walked");
            Assert.Equal(Math.Min(memo.Walked, WalkMemo.MaxKept), memo.Kept);
        }

        [Fact]
        public void A_remedy_search_walks_each_changed_layer_not_every_layer()
        {
            // Ten distinct decoder layers used once each: a remedy candidate changes one of them.
            var layers = Enumerable.Range(0, 10).Select(i => Decoder("Decoder" + i)).ToArray();
            var root = Layer("Deep", true, layers.Select((l, i) => (BlockSpec)new LayerRefSpec("Block" + i, "block" + i, l.FullName))
                .Prepend(new EmbeddingSpec("Embed", "embed", D("Vocab", 32000), D("Hidden", 512)))
                .Append(new LinearSpec("Head", "head", D("Hidden", 512), D("Vocab", 32000), false)).ToArray()) with { Precision = DType.BFloat16 };
            var model = Model(root, layers);
            var scenario = Training(2048);
            var memo = new WalkMemo();
            var estimates = 0;
            var remedies = Remedies.FindUsing(model, scenario, 1, (m, s) =>
            {
                estimates++;
                return MemoryModel.EstimateUsing(m, s, DeviceProfile.Cuda, memo);
            });

            Assert.Equal(Remedies.FindUsing(model, scenario, 1, (m, s) => MemoryModel.Estimate(m, s, DeviceProfile.Cuda)).Select(r => (r.Description, r.PeakBytes)),
                remedies.Select(r => (r.Description, r.PeakBytes)));
            // Without the memo every estimate walks all ten layers; with it, the first walks them and each later one walks what it changed
            // (one layer, or all ten for a change of the whole pass such as a halved batch or another tensor-parallel degree).
            Assert.True(estimates > 20, $"{estimates} estimates");
            Assert.True(memo.Walked + memo.Replayed == 10 * estimates, $"{memo.Walked} walked, {memo.Replayed} replayed, {estimates} estimates");
            Assert.True(memo.Walked * 5 < 10 * estimates, $"{memo.Walked} layer walks for {estimates} estimates"); // 50 for 36 when written
        }

        [Fact]
        public void A_memo_keeps_at_most_its_bound_and_stays_exact_past_it()
        {
            var memo = new WalkMemo();
            var model = Llama3_8B(every: 4);
            var scenario = Training(1024);
            // Every sequence length is another pass: nothing replays, every walk is kept until the bound.
            for (var seq = 1; memo.Walked <= WalkMemo.MaxKept; seq++)
                MemoryModel.EstimateUsing(model, scenario with { SequenceLength = seq }, DeviceProfile.Cuda, memo);
            Assert.Equal(WalkMemo.MaxKept, memo.Kept);
            Assert.Equal(Describe(MemoryModel.Estimate(model, scenario with { SequenceLength = 77 }), scenario),
                Describe(MemoryModel.EstimateUsing(model, scenario with { SequenceLength = 77 }, DeviceProfile.Cuda, memo), scenario));
            Assert.Equal(WalkMemo.MaxKept, memo.Kept);
        }

        [Fact]
        public void No_static_field_of_the_memory_model_holds_walks()
        {
            // The memo lives as long as one analysis: a static cache would leak specs across compilations and grow in the IDE.
            var memoTypes = new[] { typeof(WalkMemo), typeof(WalkContext), typeof(LayerWalk), typeof(LayerEntry), typeof(OwnTensor), typeof(Step) };
            var offending = new List<string>();
            foreach (var type in typeof(WalkMemo).Assembly.GetTypes())
            {
                foreach (var field in type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    // A cached lambda (a delegate over steps) holds code, not walks.
                    if (!typeof(Delegate).IsAssignableFrom(field.FieldType) && memoTypes.Any(t => Mentions(field.FieldType, t)))
                        offending.Add(type.FullName + "." + field.Name);
                }
            }
            Assert.Empty(offending);
        }

        private static bool Mentions(Type type, Type target) =>
            type == target || (type.IsArray && Mentions(type.GetElementType()!, target)) || (type.IsGenericType && type.GetGenericArguments().Any(a => Mentions(a, target)));

        private static LayerSpec Decoder(string name) => Layer(name, false,
            new RmsNormSpec("AttnNorm", "input_layernorm", D("Hidden", 512), 1e-5),
            new AttentionSpec("Attn", "self_attn", D("Hidden", 512), D("Heads", 8), D("KvHeads", 4), true, true, 10000, false, false, 0),
            new RmsNormSpec("MlpNorm", "post_attention_layernorm", D("Hidden", 512), 1e-5),
            new FeedForwardSpec("Mlp", "mlp", D("Hidden", 512), D("Ffn", 1536), FeedForwardActivation.SwiGlu, false));

        /// <summary>Models exercising every part of the walk's key.</summary>
        private static IEnumerable<ModelSpec> TestModels()
        {
            yield return Gpt2Small();
            yield return Llama3_8B(every: 4);
            yield return Llama3_8B(DType.Float16, CheckpointMode.Full);

            // Nested: a group holding a stack and a body with ops, a dropout after a sublayer (its width is the sublayer's output),
            // LoRA on the group (inherited below), sharded blocks, a layer type used at two places.
            static ForwardTensor Tensor(string name, Dim width) => new(name, EquatableArray.Create(width), EquatableArray<Dim>.Empty, 1, 1, ForwardElement.Compute, false);
            var hidden = D("Hidden", 256);
            var gelu = new ForwardOp("functional.gelu", EquatableArray.Create(Tensor("gelu input", D("Ffn", 1024))),
                EquatableArray.Create(Tensor("gelu output", D("Ffn", 1024))), false, EquatableArray<Dim>.Empty);
            var mlp = Layer("Mlp", false,
                new LayerNormSpec("Norm", "norm", hidden, 1e-5, true),
                new LinearSpec("Up", "up", hidden, D("Ffn", 1024), true) { Shard = ShardStyle.Column },
                new LinearSpec("Down", "down", D("Ffn", 1024), hidden, false) { Shard = ShardStyle.Row })
                with { Body = new ForwardBody(EquatableArray.Create(new ForwardCall("Norm", null), new ForwardCall("Up", null), new ForwardCall(null, gelu), new ForwardCall("Down", null))) };
            var block = GptBlock(256, 8, shard: true);
            var group = Layer("Group", false,
                new StackSpec("Inner", "inner", D("Inner", 3), block.FullName, 2),
                new LayerRefSpec("Mlp", "mlp", mlp.FullName),
                new DropoutSpec("Drop", "drop", 0.1)) with { Lora = new LoraSpec(8, 16, 0.05, default) };
            var root = Layer("Nested", true,
                new EmbeddingSpec("Embed", "embed", D("Vocab", 1000), hidden),
                new LayerRefSpec("First", "first", group.FullName),
                new LayerRefSpec("Second", "second", group.FullName),
                new LayerRefSpec("Tail", "tail", mlp.FullName),
                new LinearSpec("Head", "head", hidden, D("Vocab", 1000), false) { Head = HeadKind.LanguageModel });
            yield return Model(root, group, block, mlp);

            // Distinct layers used once each, the shape of the budget analyzer's slow case.
            var decoders = Enumerable.Range(0, 6).Select(i => Decoder("Decoder" + i)).ToArray();
            yield return Model(Layer("Deep", true, decoders.Select((l, i) => (BlockSpec)new LayerRefSpec("Block" + i, "block" + i, l.FullName))
                .Prepend(new EmbeddingSpec("Embed", "embed", D("Vocab", 32000), D("Hidden", 512))).ToArray()) with { Precision = DType.BFloat16 }, decoders);
        }

        private static IEnumerable<ScenarioSpec> Scenarios()
        {
            yield return Training(512);
            yield return Training(512, 2);
            yield return Training(256, 2, Optimizer.Adam8Bit);
            yield return Training(512) with { TensorParallel = 2 };
            yield return Training(512) with { TensorParallel = 2, SequenceParallel = true };
            yield return Training(512) with { DataParallel = 4, ZeroStage = 3 };
            yield return Training(512) with { OffloadParameters = true };
            yield return Inference(512);
            yield return Inference(512, 2);
            yield return Inference(256); // its decode pass differs from Inference(512)'s in the keys alone
            yield return Inference(384, 2) with { TensorParallel = 2 };
        }

        /// <summary>The passes <see cref="MemoryModel"/> walks for <paramref name="scenario"/> (training, or prefill and decode).</summary>
        private static IEnumerable<Pass> Passes(ScenarioSpec scenario, DeviceProfile device)
        {
            var training = scenario.Workload == Workload.Training;
            yield return new Pass(scenario.Batch, scenario.SequenceLength, scenario.SequenceLength, scenario.TensorParallel, training, device);
            if (!training)
                yield return new Pass(scenario.Batch, 1, scenario.SequenceLength, scenario.TensorParallel, false, device);
        }

        /// <summary>One or two random changes of the kinds a remedy search, a fit or an edit makes (some leave the model invalid).</summary>
        private static ModelSpec Mutate(ModelSpec model, Random random)
        {
            var all = model.Layers.Prepend(model.Root).ToList();
            var layer = all[random.Next(all.Count)];
            LayerSpec changed;
            switch (random.Next(9))
            {
                case 0:
                    changed = layer with { Checkpoint = (CheckpointMode)random.Next(3) };
                    break;
                case 1:
                    changed = layer with { Precision = Precisions[random.Next(Precisions.Length)] };
                    break;
                case 2:
                    changed = layer with { Blocks = layer.Blocks.Select(b => b is LinearSpec { Quant: null, TiedTo: null } ? b with { Quant = new QuantSpec(QuantKind.Int8, 0, false) } : b).ToEquatableArray() };
                    break;
                case 3:
                    changed = layer with { Lora = layer.Lora is null ? new LoraSpec(4, 8, 0, default) : null };
                    break;
                case 4:
                    changed = layer with { }; // the same values in a new object
                    break;
                case 5:
                    changed = layer with { Blocks = layer.Blocks.Select(b => b is StackSpec s ? s with { Count = D("Layers", 1 + random.Next(5)), CheckpointEvery = random.Next(3) } : b).ToEquatableArray() };
                    break;
                case 6:
                    changed = layer with { Blocks = layer.Blocks.Select(b => b is LayerNormSpec or RmsNormSpec ? b with { Name = b.Name } : b).ToEquatableArray(), Compute = random.Next(2) == 0 ? DType.BFloat16 : null };
                    break;
                case 7:
                    // A wrong width: the estimate then throws, or sizes the block as declared, with or without the memo alike.
                    changed = layer with { Blocks = layer.Blocks.Select(b => b is LinearSpec linear ? linear with { In = new Dim(linear.In.Member, linear.In.Value * 2) } : b).ToEquatableArray() };
                    break;
                default:
                    if (model.Layers.Count > 0 && random.Next(4) == 0)
                        return model with { Layers = model.Layers.Skip(1).ToEquatableArray() }; // a sublayer type missing: ArgumentException
                    changed = layer with { Blocks = layer.Blocks.Select(b => b is AttentionSpec a ? a with { Shard = a.Shard == ShardStyle.None ? ShardStyle.Column : ShardStyle.None } : b).ToEquatableArray() };
                    break;
            }
            return ReferenceEquals(layer, model.Root)
                ? model with { Root = changed }
                : model with { Layers = model.Layers.Select(l => ReferenceEquals(l, layer) ? changed : l).ToEquatableArray() };
        }

        /// <summary>The text of a result, or of the exception computing it threw.</summary>
        private static string Capture(Func<string> compute)
        {
            try
            {
                return compute();
            }
            catch (Exception e) when (e is ArgumentException or ModelTooLargeException or OverflowException)
            {
                return e.GetType().Name + ": " + e.Message;
            }
        }

        private static string Describe(MemoryEstimate estimate, ScenarioSpec scenario)
        {
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"{estimate.PeakBytes} {estimate.PeakPhase} host {estimate.HostBytes} params {estimate.ParameterCount} trainable {estimate.TrainableParameterCount}\n");
            text.Append(string.Join(" ", estimate.Terms)).Append('\n');
            foreach (var phase in estimate.Phases)
                text.Append(CultureInfo.InvariantCulture, $"{phase.Phase} {phase.PeakBytes} {string.Join(" ", phase.Terms)}\n");
            foreach (var layer in estimate.Layers)
                text.Append(CultureInfo.InvariantCulture, $"{layer.Path} {layer.LayerType} {layer.Count} {layer.WeightBytes} {layer.ActivationBytes} {layer.CheckpointedCount} [{string.Join(", ", layer.SavedTensors)}]\n");
            var (total, parts) = Breakdown.Format(estimate, scenario);
            return text.Append(total).Append(" | ").Append(parts).ToString();
        }

        private static string Describe(ModelWalk walk)
        {
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture,
                $"{walk.ParameterCount} {walk.TrainableParameterCount} {walk.WeightBytes} {walk.GradientBytes} {walk.TrainableElements} {walk.SixteenBitTrainableElements} {walk.EightBitStateBytes} {walk.KvCacheBytes} {walk.Logits} created {walk.StepsCreated}\n");
            foreach (var layer in walk.Layers.Values)
                text.Append(CultureInfo.InvariantCulture, $"{layer.Path} {layer.LayerType} {layer.Count} {layer.WeightBytes} {layer.ActivationBytes} {layer.CheckpointedCount} [{string.Join(", ", layer.SavedTensors)}]\n");
            Steps(walk.Steps, "", text);
            return text.ToString();
        }

        private static void Steps(List<Step> steps, string indent, StringBuilder text)
        {
            foreach (var step in steps)
            {
                text.Append(CultureInfo.InvariantCulture,
                    $"{indent}{step.Path} ×{step.Count} w{step.Weights} g{step.Gradients} k{step.Kept} r{step.Recompute} t{step.Temporary} i{step.Input} rg{step.ReturnedGradients}\n");
                if (step.Body is { } body)
                    Steps(body, indent + "  ", text);
            }
        }
    }
}
