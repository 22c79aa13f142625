using System;
using ModelGen.Distributed;
using ModelGen.Distributed.Worker;
using ModelGen.Nn;
using ModelGen.Quantization;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel.Worker
{
    /// <summary>Each sharded block against its unsharded counterpart: output, input gradient, every parameter's gradient.</summary>
    internal static class BlockCases
    {
        private const long Batch = 2, Seq = 8;

        public static void Run(ProcessGroup world, Checks checks)
        {
            foreach (var sp in new[] { false, true })
            {
                var options = new TensorParallelOptions(world, sp, seed: 3);
                var tag = sp ? " (sequence parallel)" : "";
                Linear(checks, options, tag);
                BackwardHandlesCase.Run(options, checks, tag); // BackwardHandlesCase.cs
                QuantizedLinears(checks, options, tag);
                Embedding(checks, options, tag);
                foreach (var (heads, kv, rotary) in new[] { (4L, 4L, false), (4L, 2L, true), (4L, 1L, true), (8L, 2L, false) })
                {
                    manual_seed(11);
                    using var reference = new Attention(32, heads, kv, rotary: rotary, bias: kv == heads);
                    using var sharded = new TensorParallelAttention(32, heads, kv, options, "attn", rotary: rotary, bias: kv == heads);
                    TensorParallelState.LoadFull(sharded, Compare.State(reference));
                    Block(checks, options, $"attention {heads}/{kv}{(rotary ? " rotary" : "")}{tag}", reference, sharded, randn(Batch, Seq, 32), sp);
                }
                foreach (var activation in new[] { FeedForwardActivation.SwiGlu, FeedForwardActivation.Gelu })
                {
                    manual_seed(12);
                    var bias = activation == FeedForwardActivation.Gelu;
                    using var reference = new FeedForward(16, 32, activation, bias);
                    using var sharded = new TensorParallelFeedForward(16, 32, activation, options, "mlp", bias);
                    TensorParallelState.LoadFull(sharded, Compare.State(reference));
                    Block(checks, options, $"feed-forward {activation}{tag}", reference, sharded, randn(Batch, Seq, 16), sp);
                }
                manual_seed(13);
                using (var reference = new RmsNorm(16))
                using (var sharded = new ParallelRmsNorm(16, options))
                {
                    using (no_grad()) reference.weight.uniform_(0.5, 1.5);
                    TensorParallelState.LoadFull(sharded, Compare.State(reference));
                    // The norm sits outside the regions: replicated input without sequence parallelism, a sequence shard with it.
                    Block(checks, options, $"rms norm{tag}", reference, sharded, randn(Batch, Seq, 16), sp);
                }
            }
        }

        private static void Linear(Checks checks, TensorParallelOptions options, string tag)
        {
            int t = options.Degree, r = options.Rank;
            manual_seed(10);
            using var reference = nn.Linear(12, 16);
            foreach (var gather in new[] { true, false })
            {
                using var column = new ColumnParallelLinear(12, 16, options, "column", gatherOutput: gather);
                TensorParallelState.LoadFull(column, Compare.State(reference));
                Block(checks, options, $"column-parallel linear{(gather ? " gathered" : "")}{tag}", reference, column, randn(Batch, Seq, 12), options.SequenceParallel,
                    output: gather ? null : y => y.narrow(-1, 16 / t * r, 16 / t), outputSharded: false);
            }
            manual_seed(14);
            using var reference2 = nn.Linear(16, 12);
            foreach (var parallelInput in new[] { true, false })
            {
                using var row = new RowParallelLinear(16, 12, options, "row", inputIsParallel: parallelInput);
                TensorParallelState.LoadFull(row, Compare.State(reference2));
                Block(checks, options, $"row-parallel linear{(parallelInput ? "" : " (input split here)")}{tag}", reference2, row, randn(Batch, Seq, 16), options.SequenceParallel,
                    input: parallelInput ? x => x.narrow(-1, 16 / t * r, 16 / t) : null, inputSharded: false);
            }
        }

        /// <summary>
        /// Runs both on the same input and the loss <c>Σ y·w</c>. <paramref name="sequenceParallel"/> feeds a sequence shard and
        /// expects one back; <paramref name="input"/>/<paramref name="output"/> pick the slice a rank sees of the full tensors.
        /// </summary>
        public static void Block(Checks checks, TensorParallelOptions options, string what, nn.Module<Tensor, Tensor> reference, nn.Module<Tensor, Tensor> sharded,
            Tensor x, bool sequenceParallel, Func<Tensor, Tensor>? input = null, Func<Tensor, Tensor>? output = null,
            bool inputSharded = true, bool outputSharded = true, bool compareParameters = true)
        {
            using var scope = NewDisposeScope();
            var group = options.Group;
            Tensor SliceIn(Tensor full) => input is not null ? input(full) : sequenceParallel && inputSharded ? Compare.SequenceShard(full, group) : full;
            Tensor SliceOut(Tensor full) => output is not null ? output(full) : sequenceParallel && outputSharded ? Compare.SequenceShard(full, group) : full;

            foreach (var p in reference.parameters()) p.grad = null;
            var xr = x.detach().clone().requires_grad_();
            var yr = reference.call(xr);
            manual_seed(99);
            var w = randn_like(yr);
            (yr * w).sum().backward();

            var xs = SliceIn(x).detach().clone().requires_grad_();
            var ys = sharded.call(xs);
            checks.True(ys.shape.AsSpan().SequenceEqual(SliceOut(yr).shape), $"{what}: output shape [{string.Join(",", ys.shape)}]");
            if (!ys.shape.AsSpan().SequenceEqual(SliceOut(yr).shape)) return;
            Compare.Close(checks, SliceOut(yr), ys, $"{what}: output");
            BackwardFailures.Backward((ys * SliceOut(w)).sum());
            Compare.Close(checks, SliceIn(xr.grad!), xs.grad!, $"{what}: input gradient");
            if (compareParameters) Compare.Gradients(checks, reference, sharded, group, what);
        }

        private static void QuantizedLinears(Checks checks, TensorParallelOptions options, string tag)
        {
            int t = options.Degree, r = options.Rank;
            foreach (var (kind, groupSize) in new[] { (QuantKind.Int8, 0), (QuantKind.Int4, 32) })
            {
                using var scope = NewDisposeScope();
                manual_seed(16);
                using var linear = nn.Linear(128, 32);
                using var reference = QuantizedLinear.FromLinear(linear, kind, groupSize);
                using var column = new QuantizedParallelLinear(128, 32, ParallelLinearStyle.Column, options, "qcol", true, kind, groupSize);
                column.LoadFull(linear.weight!, linear.bias);
                var what = $"quantized {kind} column-parallel linear{tag}";
                Block(checks, options, what, reference, column, randn(Batch, Seq, 128), options.SequenceParallel,
                    output: y => y.narrow(-1, 32 / t * r, 32 / t), outputSharded: false, compareParameters: false);
                Compare.Close(checks, reference.bias!.grad!.narrow(0, 32 / t * r, 32 / t), column.Shard.bias!.grad!, $"{what}: bias gradient");

                manual_seed(17);
                using var linear2 = nn.Linear(128, 24);
                using var reference2 = QuantizedLinear.FromLinear(linear2, kind, groupSize);
                using var row = new QuantizedParallelLinear(128, 24, ParallelLinearStyle.Row, options, "qrow", true, kind, groupSize);
                row.LoadFull(linear2.weight!, linear2.bias);
                what = $"quantized {kind} row-parallel linear{tag}";
                if (kind == QuantKind.Int8)
                {
                    // Int8 keeps one scale per output row over all its inputs; a row-parallel shard has one per row and shard, so it
                    // is a different (finer) quantization. Each is within half a step (absmax/254) of the float weight, so the
                    // outputs differ by at most Σ|x|·absmax/127 per row.
                    using var noGrad = no_grad();
                    var x = randn(Batch, Seq, 128);
                    var bound = x.abs().sum(-1, keepdim: true) * (linear2.weight!.abs().amax(new long[] { 1 }) / 127);
                    var y = row.call(x.narrow(-1, 128 / t * r, 128 / t));
                    var expected = reference2.call(x);
                    checks.Within(options.SequenceParallel ? Compare.SequenceShard(expected, options.Group) : expected, y,
                        options.SequenceParallel ? Compare.SequenceShard(bound.expand_as(expected), options.Group) : bound.expand_as(expected), $"{what}: output within the int8 bound");
                    continue;
                }
                Block(checks, options, what, reference2, row, randn(Batch, Seq, 128), options.SequenceParallel,
                    input: x => x.narrow(-1, 128 / t * r, 128 / t), inputSharded: false, compareParameters: false);
                Compare.Close(checks, reference2.bias!.grad!, row.parameters().Single().grad!, $"{what}: bias gradient");
            }
        }

        private static void Embedding(Checks checks, TensorParallelOptions options, string tag)
        {
            using var scope = NewDisposeScope();
            var group = options.Group;
            manual_seed(15);
            using var reference = nn.Embedding(32, 12);
            using var sharded = new VocabParallelEmbedding(32, 12, options, "embed");
            TensorParallelState.LoadFull(sharded, Compare.State(reference));
            var tokens = randint(32, new[] { Batch, Seq });
            var targets = randint(32, new[] { Batch, Seq });

            // Embedding, then the tied head and the loss: reference with full logits, sharded with V/t logits per rank.
            var hr = reference.call(tokens);
            var logits = nn.functional.linear(hr, reference.weight!);
            var lossR = nn.functional.cross_entropy(logits.view(-1, 32), targets.view(-1));
            lossR.backward();

            var hs = sharded.call(tokens);
            Compare.Close(checks, options.SequenceParallel ? Compare.SequenceShard(hr, group) : hr, hs, $"vocab-parallel embedding{tag}: output");
            var local = sharded.Logits(hs);
            checks.True(local.shape[^1] == 32 / options.Degree, $"tied head{tag}: {local.shape[^1]} logits per rank");
            Compare.Close(checks, logits.narrow(-1, sharded.VocabularyStart, sharded.LocalVocabulary), local, $"tied head{tag}: logits");
            var lossS = VocabParallelCrossEntropy.Loss(local, targets, sharded.VocabularyStart, group).mean();
            Compare.Close(checks, lossR, lossS, $"vocab-parallel cross-entropy{tag}: loss");
            BackwardFailures.Backward(lossS);
            Compare.Gradients(checks, reference, sharded, group, $"tied embedding and head{tag}");
        }
    }
}
