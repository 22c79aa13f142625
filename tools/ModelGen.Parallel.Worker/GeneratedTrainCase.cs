using System;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Optimizers;
using ModelGen.Training;
using ModuleList = TorchSharp.Modules.ModuleList<ModelGen.Parallel.Worker.TpLlamaBlock>;
using GptList = TorchSharp.Modules.ModuleList<ModelGen.Parallel.Worker.TpGptBlock>;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>;

namespace ModelGen.Parallel.Worker
{
    /// <summary>The tiny Llama planned as TP 2 × DP 2 (plain data parallelism): the generated CreateTraining builds the 2-D grid.</summary>
    [Model(typeof(TpConfig))]
    [ParallelPlan(TensorParallel = 2, DataParallel = 2)]
    public partial class TpDpLlama
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TpConfig.Layers))] public partial ModuleList Layers { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }

    /// <summary>The tiny Llama planned as TP 2 × DP 2 with ZeRO 3: each tensor-parallel shard is partitioned over the data-parallel ranks.</summary>
    [Model(typeof(TpConfig))]
    [ParallelPlan(TensorParallel = 2, DataParallel = 2, ZeroStage = 3)]
    public partial class TpDpZeroLlama
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Embed { get; }
        [Stack(nameof(TpConfig.Layers))] public partial ModuleList Layers { get; }
        [RmsNorm(nameof(TpConfig.Hidden))] public partial Module Norm { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), Shard(ShardStyle.Column)] public partial Module Head { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Embed.call(tokens);
            foreach (var layer in Layers)
                x = layer.call(x);
            return Head.call(Norm.call(x));
        }
    }

    /// <summary>The tiny GPT-2 (checkpointed layers, head tied to the vocab-parallel embedding) planned as TP 2 × DP 2 with ZeRO 1 and sequence parallelism.</summary>
    [Model(typeof(TpConfig))]
    [ParallelPlan(TensorParallel = 2, DataParallel = 2, ZeroStage = 1, SequenceParallel = true)]
    public partial class TpDpGpt
    {
        [Embedding(nameof(TpConfig.Vocab), nameof(TpConfig.Hidden)), Shard(ShardStyle.Vocab)] public partial Module Wte { get; }
        [Stack(nameof(TpConfig.Layers))] public partial GptList H { get; }
        [LayerNorm(nameof(TpConfig.Hidden))] public partial Module LnF { get; }
        [Linear(nameof(TpConfig.Hidden), nameof(TpConfig.Vocab), Bias = false), TiedTo(nameof(Wte))] public partial Module LmHead { get; }

        private Tensor Forward(Tensor tokens)
        {
            var x = Wte.call(tokens);
            foreach (var block in H)
                x = block.call(x);
            return LmHead.call(LnF.call(x));
        }
    }

    /// <summary>
    /// The <c>generated-train</c> case (4 ranks): the generated <c>CreateTraining</c> of TP 2 × DP 2 plans (plain data parallelism,
    /// ZeRO 3, and ZeRO 1 with sequence parallelism and a tied head) trains 20 AdamW steps,
    /// each data-parallel rank on half of every batch, with no loss given, so the head returns <c>V/t</c> logits and the
    /// vocab-parallel cross-entropy reads them. The loss curve and the final weights equal one process training the same
    /// generated class whole on the whole batch with the plain cross-entropy of all <c>V</c> logits.
    /// </summary>
    internal static class GeneratedTrainCase
    {
        private const int Steps = 20, Rows = 4, Sequence = 8;

        public static void Run(ProcessGroup world, Checks checks)
        {
            if (world.Size != 4)
            {
                checks.True(false, $"generated-train needs 4 ranks (TP 2 × DP 2), not {world.Size}");
                return;
            }
            var config = new TpConfig();
            Train(world, checks, config, "Llama (TP 2 × DP 2)", (o, l) => TpDpLlama.CreateTraining(config, world, o, l, seed: 5), () => new TpDpLlama(config));
            Train(world, checks, config, "Llama (TP 2 × DP 2, ZeRO 3)", (o, l) => TpDpZeroLlama.CreateTraining(config, world, o, l, seed: 5), () => new TpDpZeroLlama(config));
            Train(world, checks, config, "GPT-2 (TP 2 × DP 2, ZeRO 1, SP, tied head)", (o, l) => TpDpGpt.CreateTraining(config, world, o, l, seed: 5), () => new TpDpGpt(config));
        }

        private static void Train(ProcessGroup world, Checks checks, TpConfig config, string what,
            Func<Func<System.Collections.Generic.IEnumerable<Parameter>, OptimizerSettings, TrainingOptimizer>, Func<Tensor, Tensor, Tensor>?, PlanTraining> create,
            Func<Module> whole)
        {
            using var training = create((parameters, settings) => new AdamW(parameters, learningRate: 0.01, settings: settings), null);
            var grid = training.Grid;
            using var reference = whole();
            // A tied head has one weight, gathered under its owner's name; the whole model's parameters() yields it once too.
            var initial = Gather(training);
            reference.load_state_dict(initial, strict: false);
            foreach (var (name, _) in reference.named_parameters())
                checks.True(initial.ContainsKey(name), $"{what}: the gathered state holds {name}");
            using var optimizer = new AdamW(reference.parameters(), learningRate: 0.01);
            var rows = Rows / grid.DataParallelSize;
            var expected = new double[Steps];
            var actual = new double[Steps];
            for (var s = 0; s < Steps; s++)
            {
                using var scope = NewDisposeScope();
                var (tokens, targets) = Batch(config, s);
                var loss = nn.functional.cross_entropy(reference.call(tokens).reshape(-1, config.Vocab), targets.reshape(-1));
                loss.backward();
                optimizer.Step();
                expected[s] = loss.item<float>();
                var mine = (Tensor t) => t.narrow(0, rows * grid.DataParallelRank, rows);
                actual[s] = training.Step(mine(tokens), mine(targets));
            }
            checks.True(expected[^1] < expected[0] * 0.8, $"{what}: the reference learns: loss {expected[0]:F4} → {expected[^1]:F4}");
            for (var s = 0; s < Steps; s++)
                checks.True(Math.Abs(actual[s] - expected[s]) <= 1e-4 * Math.Max(1, Math.Abs(expected[s])), $"{what}: step {s}: loss {actual[s]:F6}, single process {expected[s]:F6}");
            var trained = Gather(training);
            // A key projection's bias has no gradient in exact arithmetic (softmax does not change when every score of a query
            // moves by q·b), so AdamW turns rounding noise into lr-sized steps there; it is checked through the outputs below.
            foreach (var (name, parameter) in reference.named_parameters().Where(p => !p.name.EndsWith("k_proj.bias", StringComparison.Ordinal)))
                Compare.Close(checks, parameter.detach(), trained[name], $"{what}: {name} after {Steps} steps", atol: 1e-4, rtol: 1e-3);
            // The trained model's output is this rank's vocabulary slice (no rank ever holds all V logits), equal to the whole model's.
            using (no_grad())
            {
                training.Zero?.GatherAll(); // ZeRO 3 keeps no parameter values between steps
                var (tokens, _) = Batch(config, Steps);
                var slice = config.Vocab / grid.TensorParallelSize;
                var logits = training.Model.call(tokens);
                checks.True(logits.shape.SequenceEqual(new long[] { Rows, Sequence, slice }),
                    $"{what}: the model returns [{string.Join(", ", logits.shape)}] logits, [b, s, V/t] = [{Rows}, {Sequence}, {slice}]");
                var expectedLogits = reference.call(tokens).narrow(-1, grid.TensorParallelRank * slice, slice);
                Compare.Close(checks, expectedLogits, logits, $"{what}: logits after {Steps} steps", atol: 1e-3, rtol: 1e-3);
            }
            if (world.Rank == 0)
                Console.WriteLine($"{what} loss curve: " + string.Join(" ", actual.Select(l => l.ToString("F4", System.Globalization.CultureInfo.InvariantCulture))));
        }

        /// <summary>The whole model's state from the trained ranks (under ZeRO 3 the data-parallel partitions are gathered first).</summary>
        private static System.Collections.Generic.Dictionary<string, Tensor> Gather(PlanTraining training)
        {
            training.Zero?.GatherAll();
            var state = TensorParallelState.GatherFull(training.Model, training.Grid.TensorParallel);
            training.Zero?.ReleaseAll();
            return state;
        }

        private static (Tensor Tokens, Tensor Targets) Batch(TpConfig config, int step)
        {
            using var generator = new Generator((ulong)(2000 + step));
            var tokens = randint(config.Vocab, new long[] { Rows, Sequence }, generator: generator);
            // A learnable rule: the next token is the current one plus one.
            return (tokens, (tokens + 1).remainder(config.Vocab));
        }
    }
}
