using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>
    /// What one call of a ZeRO-3 layer needs in backward: the body, its parameters, which inputs were given and need gradients,
    /// which outputs it returned, and the random state of its forward. A layer with one input and one output is the case of one
    /// of each; a generated layer whose <c>Forward</c> takes a mask or position ids beside its hidden state, or returns a tuple
    /// or a record, passes them all (a null input is one the caller left out).
    /// </summary>
    internal sealed class ZeroLayerCall(Func<Tensor?[], (object? Result, Tensor?[] Outputs)> body, PartitionedParameters parameters,
        bool[] inputPresent, bool[] inputNeedsGrad)
    {
        /// <summary>The layer's forward over the inputs (nulls where none was given): its result and that result's tensors.</summary>
        public Func<Tensor?[], (object? Result, Tensor?[] Outputs)> Body { get; } = body;

        public PartitionedParameters Parameters { get; } = parameters;

        /// <summary>Which of the caller's inputs were given (not null).</summary>
        public bool[] InputPresent { get; } = inputPresent;

        /// <summary>For each given input, whether its gradient is wanted.</summary>
        public bool[] InputNeedsGrad { get; } = inputNeedsGrad;

        /// <summary>Which tensors of the result were returned (not null), set by the forward.</summary>
        public bool[] OutputPresent { get; set; } = [];

        /// <summary>Shapes and dtypes of the returned tensors, checked against the recompute.</summary>
        public (long[] Shape, ScalarType Type)[] OutputMeta { get; set; } = [];

        /// <summary>The forward's result object until the caller rebuilds it around the node's outputs.</summary>
        public object? FirstResult { get; set; }

        public RngSnapshot? Rng { get; set; }

        /// <summary>Gathers the layer expected to run after this one in the forward on the prefetch thread; null without one.</summary>
        public Action? PrefetchNext { get; init; }

        /// <summary>Gathers the layer that ran before this one (the next in backward) on the prefetch thread; null without one.</summary>
        public Action? PrefetchPrevious { get; init; }

        /// <summary>The inputs in the caller's order, with nulls where none was given.</summary>
        public Tensor?[] Spread(IReadOnlyList<Tensor> present)
        {
            var inputs = new Tensor?[InputPresent.Length];
            for (int i = 0, next = 0; i < inputs.Length; i++)
                inputs[i] = InputPresent[i] ? present[next++] : null;
            return inputs;
        }
    }

    /// <summary>
    /// The autograd node of a ZeRO-3 layer. Arguments to <c>apply</c>: the <see cref="ZeroLayerCall"/>, the given inputs in order,
    /// then the layer's partitions. Forward: gather the layer's parameters, run it without a graph, free them. Backward: gather them
    /// again, recompute the forward with a graph (the layer is also activation-checkpointed: nothing but its inputs is kept), take
    /// the gradients of the inputs that need them and of the whole parameters, reduce-scatter the parameters' gradients into each
    /// rank's partition (the engine accumulates them into the partitions' <c>.grad</c>), free the parameters. Inputs that need no
    /// gradient (masks, position ids) are kept and passed again to the recompute, never gathered: only parameters are.
    /// </summary>
    /// <remarks>A failure in backward is recorded in <see cref="BackwardFailures"/>, never thrown into the native engine.</remarks>
    internal sealed class ZeroLayerFunction : autograd.MultiTensorFunction<ZeroLayerFunction>
    {
        private const string CallKey = "ModelGen.ZeroLayerCall";

        /// <inheritdoc/>
        public override string Name => "ModelGen.ZeroLayer";

        /// <inheritdoc/>
        public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var call = (ZeroLayerCall)vars[0];
            var present = vars.Skip(1).Take(call.InputNeedsGrad.Length).Cast<Tensor>().ToList();
            call.Rng = RngSnapshot.CaptureForForward(present.Count > 0 ? present[0].device : call.Parameters.ComputeDevice);
            call.Parameters.Gather();
            call.PrefetchNext?.Invoke();
            object? result;
            Tensor?[] outputs;
            try {
                (result, outputs) = call.Body(call.Spread(present));
            } finally {
                call.Parameters.Release();
            }
            // Throwing here is safe: forward runs on the caller's stack, not inside the engine.
            if (outputs.All(o => o is null))
                throw new InvalidOperationException("A ZeRO-3 layer's forward returned no tensor.");
            if (outputs.Any(o => o is not null && o.IsInvalid))
                throw new InvalidOperationException("A ZeRO-3 layer's forward returned a disposed tensor.");
            call.FirstResult = result;
            call.OutputPresent = outputs.Select(o => o is not null).ToArray();
            var returned = outputs.Where(o => o is not null).Select(o => o!).ToList();
            call.OutputMeta = returned.Select(o => (o.shape, o.dtype)).ToArray();
            var integer = returned.Where(o => !o.is_floating_point() && !o.is_complex()).ToList();
            if (integer.Count > 0)
                ctx.mark_non_differentiable(integer);
            ctx.save_for_backward(present);
            ctx.save_data(CallKey, call);
            ctx.set_materialize_grads(false);
            return returned;
        }

        /// <inheritdoc/>
        public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
        {
            var call = (ZeroLayerCall)ctx.get_data(CallKey);
            var inputCount = call.InputNeedsGrad.Length;
            var partitions = call.Parameters.Partitions.Count();
            var gradients = Enumerable.Repeat<Tensor>(null!, 1 + inputCount + partitions).ToList();
            try {
                Recompute(ctx, call, grad_outputs, gradients);
            } catch (Exception exception) {
                BackwardFailures.Record(new InvalidOperationException("The backward of a ZeRO-3 layer failed: " + exception.Message, exception));
                for (var i = 0; i < gradients.Count; i++)
                    gradients[i] = null!;
            } finally {
                call.Parameters.Release();
                foreach (var gradOutput in grad_outputs)
                    gradOutput?.Dispose();
            }
            return gradients;
        }

        private static void Recompute(autograd.AutogradContext ctx, ZeroLayerCall call, List<Tensor> gradOutputs, List<Tensor> gradients)
        {
            ReturnedGradients.Release();
            var inputCount = call.InputNeedsGrad.Length;
            var members = call.Parameters.Members.ToArray();
            using var scope = NewDisposeScope();
            List<Tensor?> parameterGradients;
            var inputGradients = new Tensor?[inputCount];
            if (gradOutputs.All(g => g is null || g.IsInvalid)) {
                // No output reached the loss; every rank still joins the reduce-scatter below.
                parameterGradients = members.Select(_ => (Tensor?)null).ToList();
            } else {
                call.Parameters.Gather();
                call.PrefetchPrevious?.Invoke();
                var saved = ctx.get_saved_variables();
                var inputs = new List<Tensor>(inputCount);
                for (var i = 0; i < inputCount; i++) {
                    var input = saved[i].detach();
                    if (call.InputNeedsGrad[i])
                        input.requires_grad_(true);
                    inputs.Add(input);
                }
                Tensor?[] outputs;
                using (call.Rng!.ReplayForRecompute(inputs.Count > 0 ? inputs[0].device : call.Parameters.ComputeDevice))
                using (enable_grad())
                    outputs = call.Body(call.Spread(inputs)).Outputs;
                var returned = outputs.Where(o => o is not null).Select(o => o!).ToList();
                if (!outputs.Select(o => o is not null).SequenceEqual(call.OutputPresent)
                    || !returned.Zip(call.OutputMeta, (a, b) => a.shape.SequenceEqual(b.Shape) && a.dtype == b.Type).All(same => same))
                    throw new InvalidOperationException("The layer returned other outputs (which, shapes or dtypes) when recomputed than in the forward; it must compute the same every time.");
                var roots = new List<Tensor>();
                var seeds = new List<Tensor>();
                for (var i = 0; i < returned.Count && i < gradOutputs.Count; i++) {
                    if (gradOutputs[i] is { IsInvalid: false } g && returned[i].requires_grad) {
                        roots.Add(returned[i]);
                        seeds.Add(g);
                    }
                }
                var targets = new List<Tensor>();
                for (var i = 0; i < inputCount; i++)
                    if (call.InputNeedsGrad[i])
                        targets.Add(inputs[i]);
                var trainable = members.Where(m => m.requires_grad).ToArray();
                targets.AddRange(trainable);
                var computed = roots.Count > 0 && targets.Count > 0
                    ? autograd.grad(roots, targets, seeds, allow_unused: true)
                    : targets.Select(_ => (Tensor)null!).ToList();
                var next = 0;
                for (var i = 0; i < inputCount; i++)
                    if (call.InputNeedsGrad[i])
                        inputGradients[i] = computed[next++];
                var byMember = new Dictionary<Tensor, Tensor?>(ReferenceEqualityComparer.Instance);
                foreach (var member in trainable)
                    byMember[member] = computed[next++] is { IsInvalid: false } g ? g : null;
                parameterGradients = members.Select(m => byMember.TryGetValue(m, out var g) ? g : null).ToList();
            }
            var mine = call.Parameters.ReduceScatter(parameterGradients);
            for (var i = 0; i < inputCount; i++)
                if (inputGradients[i] is { IsInvalid: false } inputGradient)
                    gradients[1 + i] = Keep(scope, inputGradient);
            for (var i = 0; i < mine.Count; i++)
                gradients[1 + inputCount + i] = Keep(scope, mine[i]);
        }

        private static Tensor Keep(DisposeScope scope, Tensor gradient)
        {
            scope.Detach(gradient);
            ReturnedGradients.Defer(gradient);
            return gradient;
        }
    }
}
