using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// The memory model walks an analyzed Forward body (LayerSpec.Body): ops between blocks add exactly what autograd saves for
    /// them, block calls follow the body's order, a block called twice keeps its activations twice and its weights once.
    /// </summary>
    public sealed class ForwardBodyTests
    {
        private const long Hidden = 64, Ffn = 256, Seq = 128, Batch = 4;
        private static readonly ScenarioSpec Training = new(80, Workload.Training, Seq, Batch, Optimizer.AdamW);

        private static LayerSpec Mlp() => Layer("Mlp", true,
            new LinearSpec("Up", "up", D("Hidden", Hidden), D("Ffn", Ffn), true),
            new LinearSpec("Down", "down", D("Ffn", Ffn), D("Hidden", Hidden), true));

        private static ForwardTensor Tensor(string name, ForwardElement element = ForwardElement.Compute, params Dim[] factors) =>
            new(name, factors.ToEquatableArray(), EquatableArray<Dim>.Empty, 1, 1, element, false);

        private static ForwardCall Op(string call, ForwardTensor[] saved, ForwardTensor[] temporaries, params Dim[] repeats) =>
            new(null, new ForwardOp(call, saved.ToEquatableArray(), temporaries.ToEquatableArray(), false, repeats.ToEquatableArray()));

        private static ForwardCall Call(string block) => new(block, null);

        private static LayerSpec WithBody(LayerSpec layer, params ForwardCall[] calls) => layer with { Body = new ForwardBody(calls.ToEquatableArray()) };

        private static MemoryEstimate Estimate(LayerSpec root) => MemoryModel.Estimate(Model(root), Training, DeviceProfile.Cpu);

        [Fact]
        public void A_gelu_between_two_linear_blocks_adds_its_saved_input_to_the_activations()
        {
            var gelu = D("Ffn", Ffn);
            var plain = Estimate(Mlp());
            var withGelu = Estimate(WithBody(Mlp(), Call("Up"),
                Op("functional.gelu", new[] { Tensor("gelu input", ForwardElement.Compute, gelu) }, new[] { Tensor("gelu output", ForwardElement.Compute, gelu) }),
                Call("Down")));

            // gelu saves its input (derivatives.yaml: gelu_backward(grad, self)): T·Ffn fp32 elements.
            var saved = Batch * Seq * Ffn * 4;
            Assert.Equal(plain.Layers[0].ActivationBytes + saved, withGelu.Layers[0].ActivationBytes);
            Assert.Contains(withGelu.Layers[0].SavedTensors, t => t.Block == "functional.gelu" && t.Tensor == "gelu input" && t.Bytes == saved);
            Assert.True(withGelu.PeakBytes > plain.PeakBytes);
        }

        [Fact]
        public void Inference_keeps_no_saved_tensor_of_an_op_but_counts_its_output_while_it_runs()
        {
            var inference = new ScenarioSpec(80, Workload.Inference, Seq, Batch, Optimizer.AdamW);
            var width = D("Ffn", 64 * Ffn); // an op whose output is the widest tensor of the pass
            var root = WithBody(Mlp(), Call("Up"),
                Op("functional.gelu", new[] { Tensor("gelu input", ForwardElement.Compute, width) }, new[] { Tensor("gelu output", ForwardElement.Compute, width) }),
                Call("Down"));
            var estimate = MemoryModel.Estimate(Model(root), inference, DeviceProfile.Cpu);
            var prefill = estimate.Phases.Single(p => p.Phase == MemoryPhases.Prefill);
            Assert.Equal(Batch * Seq * 64 * Ffn * 4, prefill.Terms.Single(t => t.Name == MemoryTerms.Transients).Bytes);
        }

        [Fact]
        public void Ops_in_a_loop_over_a_stack_count_once_per_repeat()
        {
            var layers = D("Layers", 6);
            var once = Estimate(WithBody(Mlp(), Call("Up"), Op("x", new[] { Tensor("saved", ForwardElement.Bool, D("Ffn", Ffn)) }, new ForwardTensor[0]), Call("Down")));
            var six = Estimate(WithBody(Mlp(), Call("Up"), Op("x", new[] { Tensor("saved", ForwardElement.Bool, D("Ffn", Ffn)) }, new ForwardTensor[0], layers), Call("Down")));
            Assert.Equal(5 * Batch * Seq * Ffn, six.Layers[0].ActivationBytes - once.Layers[0].ActivationBytes);
        }

        [Fact]
        public void A_block_called_twice_counts_its_activations_twice_and_its_weights_once()
        {
            var layer = Layer("Net", true,
                new LinearSpec("Up", "up", D("Hidden", Hidden), D("Hidden", Hidden), true),
                new DropoutSpec("Drop", "drop", 0.1));
            var once = Estimate(layer);
            var twice = Estimate(WithBody(layer, Call("Up"), Call("Drop"), Call("Drop")));
            Assert.Equal(once.ParameterCount, twice.ParameterCount);
            // Dropout on the CPU keeps its scaled noise at the compute dtype (docs/memory-model.md): T·Hidden·4 more bytes.
            Assert.Equal(Batch * Seq * Hidden * 4, twice.Layers[0].ActivationBytes - once.Layers[0].ActivationBytes);
            Assert.Equal(once.Terms.Single(t => t.Name == MemoryTerms.Weights).Bytes, twice.Terms.Single(t => t.Name == MemoryTerms.Weights).Bytes);
        }

        [Fact]
        public void Tensor_sizes_divide_by_their_divisors_and_scale_with_batch_and_sequence_powers()
        {
            // [batch, Heads, seq, seq] scores of a hand-written attention: Heads·b·s² elements; a head dimension Hidden/Heads.
            var scores = new ForwardTensor("scores", new[] { D("Heads", 4) }.ToEquatableArray(), EquatableArray<Dim>.Empty, 1, 2, ForwardElement.Float32, false);
            Assert.Equal(4L * 3 * 10 * 10 * 4, scores.Bytes(3, 10, 2, 1, booleanMask: true));
            var head = new ForwardTensor("q", new[] { D("Hidden", 64), D("Heads", 4) }.ToEquatableArray(), new[] { D("Heads", 4) }.ToEquatableArray(), 1, 1, ForwardElement.Compute, true);
            Assert.Equal(64L * 3 * 10 * 2 / 2, head.Bytes(3, 10, 2, 2, booleanMask: true)); // sharded over 2 ranks
            var mask = new ForwardTensor("mask", new[] { D("Hidden", 64) }.ToEquatableArray(), EquatableArray<Dim>.Empty, 1, 1, ForwardElement.DropoutMask, false);
            Assert.Equal(64L * 30, mask.Bytes(3, 10, 2, 1, booleanMask: true));
            Assert.Equal(64L * 30 * 2, mask.Bytes(3, 10, 2, 1, booleanMask: false));
        }

        [Fact]
        public void Blocks_run_in_the_bodys_order_and_an_uncalled_block_keeps_its_declared_place()
        {
            // Calling Down's twin before Up changes nothing in the totals but the layer list keeps every block; a body that calls
            // only Down still walks Up (declared first) before it.
            var onlyDown = Estimate(WithBody(Mlp(), Call("Down")));
            var declared = Estimate(Mlp());
            Assert.Equal(declared.PeakBytes, onlyDown.PeakBytes);
            Assert.Equal(declared.Layers[0].SavedTensors, onlyDown.Layers[0].SavedTensors);
        }
    

        [Fact]
        public void Under_tensor_parallelism_a_sharded_tensor_divides_and_sequence_parallelism_divides_the_replicated_ones_too()
        {
            var layer = Layer("Net", true,
                new LinearSpec("Up", "up", D("Hidden", Hidden), D("Ffn", Ffn), true) { Shard = ShardStyle.Column },
                new LinearSpec("Down", "down", D("Ffn", Ffn), D("Hidden", Hidden), true) { Shard = ShardStyle.Row });
            var sharded = new ForwardTensor("gelu input", new[] { D("Ffn", Ffn) }.ToEquatableArray(), EquatableArray<Dim>.Empty, 1, 1, ForwardElement.Compute, true);
            var replicated = Tensor("residual", ForwardElement.Compute, D("Hidden", Hidden));
            var body = WithBody(layer, Call("Up"), Op("gelu", new[] { sharded }, new ForwardTensor[0]), Call("Down"), Op("mask", new[] { replicated }, new ForwardTensor[0]));
            SavedTensor Saved(ScenarioSpec scenario, string name) =>
                MemoryModel.Estimate(Model(body), scenario, DeviceProfile.Cpu).Layers[0].SavedTensors.Single(t => t.Tensor == name);
            var tp = Training with { TensorParallel = 2 };
            Assert.Equal(Batch * Seq * Ffn * 4 / 2, Saved(tp, "gelu input").Bytes);
            Assert.Equal(Batch * Seq * Hidden * 4, Saved(tp, "residual").Bytes);
            Assert.Equal(Batch * Seq * Hidden * 4 / 2, Saved(tp with { SequenceParallel = true }, "residual").Bytes);
        }
    }
}
