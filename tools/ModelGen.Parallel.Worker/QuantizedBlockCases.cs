using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>
    /// The <c>quantized-blocks</c> case: <see cref="TensorParallelAttention"/> (MHA, GQA and MQA, rotary; replicated key/value heads
    /// at degree 4 and for MQA) and <see cref="TensorParallelFeedForward"/> (SwiGLU, GELU) with int8, int4 and NF4 (double-quantized)
    /// projections, each rank quantizing only its slices. The reference is the unsharded runtime block whose weights are the
    /// dequantized slices, each quantized on its own as the ranks do (int8 row-parallel slices keep one scale per row and shard;
    /// NF4 double quantization spans a slice's blocks): output, input gradient and every bias gradient (the trainable parameters;
    /// the quantized weights are frozen) equal, with and without checkpointing and sequence parallelism. With int4 groups that fall
    /// on the slice boundaries the sharded block also equals the single-device quantized block (<c>Attention(quantize:)</c>).
    /// </summary>
    internal static class QuantizedBlockCases
    {
        private const long Batch = 2, Seq = 4, Hidden = 128, Inner = 256;

        private static readonly ProjectionQuantization[] Formats =
        {
            new(QuantKind.Int8), new(QuantKind.Int4, 32), new(QuantKind.NF4, 32, DoubleQuant: true),
        };

        public static void Run(ProcessGroup world, Checks checks)
        {
            foreach (var sp in new[] { false, true })
            {
                var options = new TensorParallelOptions(world, sequenceParallel: sp, seed: 5);
                foreach (var format in Formats)
                {
                    foreach (var checkpointed in new[] { false, true })
                    {
                        var tag = $" {format.Kind}{(format.DoubleQuant ? " double-quantized" : "")}{(sp ? ", sequence parallel" : "")}{(checkpointed ? ", checkpointed" : "")}";
                        foreach (var (heads, kv, rotary) in new[] { (4L, 4L, false), (4L, 2L, true), (4L, 1L, true) })
                            Attention(checks, options, format, heads, kv, rotary, checkpointed, $"quantized attention {heads}/{kv}{(rotary ? " rotary" : "")}{tag}");
                        foreach (var activation in new[] { FeedForwardActivation.SwiGlu, FeedForwardActivation.Gelu })
                            FeedForward(checks, options, format, activation, checkpointed, $"quantized feed-forward {activation}{tag}");
                    }
                }
                SingleDeviceQuantized(checks, options, sp ? " (sequence parallel)" : "");
            }
        }

        private static void Attention(Checks checks, TensorParallelOptions options, ProjectionQuantization format, long heads, long kv, bool rotary, bool checkpointed, string what)
        {
            using var scope = NewDisposeScope();
            manual_seed(21);
            using var reference = new Attention(Hidden, heads, kv, rotary: rotary, bias: true);
            using var sharded = new TensorParallelAttention(Hidden, heads, kv, options, "attn", rotary: rotary, bias: true, quantize: format);
            var kvSlices = Math.Min(kv, options.Degree); // replicated key/value heads: one slice per head
            LoadSlices(reference, sharded.Projection, format, new (string, int, long)[] { ("q_proj", 0, options.Degree), ("k_proj", 0, kvSlices), ("v_proj", 0, kvSlices), ("o_proj", 1, options.Degree) });
            CompareBlocks(checks, options, what, reference, sharded, checkpointed);
        }

        private static void FeedForward(Checks checks, TensorParallelOptions options, ProjectionQuantization format, FeedForwardActivation activation, bool checkpointed, string what)
        {
            using var scope = NewDisposeScope();
            manual_seed(22);
            using var reference = new FeedForward(Hidden, Inner, activation, bias: true);
            using var sharded = new TensorParallelFeedForward(Hidden, Inner, activation, options, "mlp", bias: true, quantize: format);
            var projections = new List<(string, int, long)> { ("up_proj", 0, options.Degree), ("down_proj", 1, options.Degree) };
            if (ModelGen.Nn.FeedForward.IsGated(activation)) projections.Add(("gate_proj", 0, options.Degree));
            LoadSlices(reference, sharded.Projection, format, projections);
            CompareBlocks(checks, options, what, reference, sharded, checkpointed);
        }

        /// <summary>
        /// Quantizes each projection's full weight into the sharded block slice by slice (<see cref="QuantizedParallelLinear.LoadFull"/>)
        /// and makes the reference's weight the same slices quantized on their own and dequantized.
        /// </summary>
        private static void LoadSlices(nn.Module reference, Func<string, nn.Module<Tensor, Tensor>> projection, ProjectionQuantization format,
            IEnumerable<(string Name, int Dim, long Slices)> projections)
        {
            var state = reference.state_dict();
            foreach (var (name, dim, slices) in projections)
            {
                var weight = state[name + ".weight"];
                ((QuantizedParallelLinear)projection(name)).LoadFull(weight, state[name + ".bias"]);
                using var dequantized = PerSlice(weight, dim, slices, format);
                using (no_grad()) weight.copy_(dequantized);
            }
        }

        /// <summary>The full weight with every slice along <paramref name="dim"/> quantized on its own and dequantized (fp32).</summary>
        internal static Tensor PerSlice(Tensor weight, int dim, long slices, ProjectionQuantization format)
        {
            using var scope = NewDisposeScope();
            var pieces = weight.detach().chunk(slices, dim).Select(piece =>
            {
                using var layer = new QuantizedLinear(piece.shape[1], piece.shape[0], false, format.Kind, format.GroupSize, format.DoubleQuant);
                layer.QuantizeFrom(piece);
                return layer.Dequantize();
            }).ToArray();
            return scope.MoveToOuter(cat(pieces, dim));
        }

        /// <summary>
        /// Output, input gradient and the gradient of every trainable parameter (the biases: <c>shard.bias</c> of a column slice,
        /// <c>bias</c> of a row-parallel or replicated one) against the reference's, after a loss <c>Σ y·w</c>.
        /// </summary>
        private static void CompareBlocks(Checks checks, TensorParallelOptions options, string what, nn.Module<Tensor, Tensor> reference, nn.Module<Tensor, Tensor> sharded, bool checkpointed)
        {
            var group = options.Group;
            Tensor Slice(Tensor full) => options.SequenceParallel ? Compare.SequenceShard(full, group) : full;
            manual_seed(23);
            var x = randn(Batch, Seq, Hidden);
            var xr = x.clone().requires_grad_();
            var yr = reference.call(xr);
            var w = randn_like(yr);
            (yr * w).sum().backward();

            var xs = Slice(x).clone().requires_grad_();
            var ys = checkpointed ? Checkpoint.Run(sharded, sharded.call, xs) : sharded.call(xs);
            Compare.Close(checks, Slice(yr), ys, $"{what}: output");
            BackwardFailures.Backward((ys * Slice(w)).sum());
            Compare.Close(checks, Slice(xr.grad!), xs.grad!, $"{what}: input gradient");

            var trainable = sharded.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
            var biases = reference.named_parameters().Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal)).ToDictionary(p => p.name, p => p.parameter);
            checks.True(trainable.Count == biases.Count && trainable.All(n => n.EndsWith("bias", StringComparison.Ordinal)),
                $"{what}: the trainable parameters are the {biases.Count} biases (the quantized weights are frozen buffers): [{string.Join(", ", trainable)}]");
            foreach (var (name, grad) in TensorParallelState.GatherFull(sharded, group, gradients: true))
            {
                var plain = name.Replace(".shard.", ".", StringComparison.Ordinal);
                if (!biases.TryGetValue(plain, out var bias)) { checks.True(false, $"{what}: the reference has no '{plain}'"); continue; }
                Compare.Close(checks, bias.grad!, grad, $"{what}: grad of {name}");
            }
        }

        /// <summary>
        /// Int4 groups of 32 fall on every slice boundary (<c>hidden/t</c> and <c>inner/t</c> are multiples of 32), so each rank's codes
        /// are the single-device quantized block's: the sharded blocks equal <c>Attention(quantize:)</c> and <c>FeedForward(quantize:)</c>.
        /// </summary>
        private static void SingleDeviceQuantized(Checks checks, TensorParallelOptions options, string tag)
        {
            using var scope = NewDisposeScope();
            var format = new ProjectionQuantization(QuantKind.Int4, 32);
            manual_seed(24);
            using var dense = new Attention(Hidden, 4, 2, rotary: true, bias: true);
            using var reference = new Attention(Hidden, 4, 2, rotary: true, bias: true, quantize: format);
            using var sharded = new TensorParallelAttention(Hidden, 4, 2, options, "attn", rotary: true, bias: true, quantize: format);
            var state = dense.state_dict();
            foreach (var name in new[] { "q_proj", "k_proj", "v_proj", "o_proj" })
            {
                ((QuantizedLinear)reference.Projection(name)).QuantizeFrom(state[name + ".weight"], state[name + ".bias"]);
                ((QuantizedParallelLinear)sharded.Projection(name)).LoadFull(state[name + ".weight"], state[name + ".bias"]);
            }
            CompareBlocks(checks, options, "int4 sharded attention against the single-device quantized Attention" + tag, reference, sharded, checkpointed: false);

            manual_seed(25);
            using var denseMlp = new FeedForward(Hidden, Inner, FeedForwardActivation.SwiGlu, bias: true);
            using var referenceMlp = new FeedForward(Hidden, Inner, FeedForwardActivation.SwiGlu, bias: true, quantize: format);
            using var shardedMlp = new TensorParallelFeedForward(Hidden, Inner, FeedForwardActivation.SwiGlu, options, "mlp", bias: true, quantize: format);
            var mlpState = denseMlp.state_dict();
            foreach (var name in new[] { "gate_proj", "up_proj", "down_proj" })
            {
                ((QuantizedLinear)referenceMlp.Projection(name)).QuantizeFrom(mlpState[name + ".weight"], mlpState[name + ".bias"]);
                ((QuantizedParallelLinear)shardedMlp.Projection(name)).LoadFull(mlpState[name + ".weight"], mlpState[name + ".bias"]);
            }
            CompareBlocks(checks, options, "int4 sharded SwiGLU feed-forward against the single-device quantized FeedForward" + tag, referenceMlp, shardedMlp, checkpointed: false);
        }
    }
}
