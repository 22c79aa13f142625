using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// <c>softmax(scale · scores + causal mask)</c> computed in fp32 and returned (and saved for backward) in the scores' dtype:
    /// what Megatron-LM's fused scale-mask-softmax kernel does, and what Korthikanti et al. 2022 (§4.1) count, 2·a·s²·b bytes in
    /// 16-bit. Autograd's own ops would keep an fp32 softmax output (4·a·s²·b) and masked_fill's s×s mask; this node keeps only its
    /// 16-bit output and frees every fp32 temporary before it returns. Arguments: (scores, scale as double, causal as bool, and
    /// optionally a bool tensor of hidden keys broadcastable to the scores, e.g. a KV cache's padding and window mask).
    /// </summary>
    /// <remarks>
    /// A shared singleton (TorchSharp's Function&lt;T&gt;): per-call state goes through the context. The causal mask is the
    /// bottom-right aligned one (fewer queries than keys: the queries are the last positions). The backward
    /// <c>dx = scale · p · (g − Σ g·p)</c> runs in fp32 from the saved 16-bit probabilities.
    /// </remarks>
    internal sealed class ScaledMaskedSoftmax : autograd.SingleTensorFunction<ScaledMaskedSoftmax>
    {
        private const string ScaleKey = "scale";
        private const string InputsKey = "inputs";

        /// <inheritdoc/>
        public override string Name => "ModelGen.ScaledMaskedSoftmax";

        /// <summary>The probabilities, in <paramref name="scores"/>' dtype, over the last dimension.</summary>
        /// <param name="scores"><c>[batch, heads, queries, keys]</c>, unscaled <c>q kᵀ</c>.</param>
        /// <param name="scale">Multiplies the scores before the mask (<c>1/√headDim</c>).</param>
        /// <param name="causal">Hide keys after each query's position.</param>
        /// <param name="hidden">Keys to hide besides (true = hidden), broadcastable to <paramref name="scores"/>; null for none.</param>
        /// <param name="window">With <paramref name="causal"/>: each query sees only itself and the <c>window − 1</c> keys before it; 0 for no window.</param>
        public static Tensor Apply(Tensor scores, double scale, bool causal, Tensor? hidden = null, long window = 0) =>
            hidden is null ? apply(scores, scale, causal, window) : apply(scores, scale, causal, window, hidden);

        /// <inheritdoc/>
        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var scores = (Tensor)vars[0];
            var scale = (double)vars[1];
            var causal = (bool)vars[2];
            var window = (long)vars[3];
            var hidden = vars.Length > 4 ? (Tensor)vars[4] : null;
            ctx.save_data(ScaleKey, scale);
            ctx.save_data(InputsKey, vars.Length);
            var probabilities = Probabilities(scores, scale, causal, window, hidden);
            ctx.save_for_backward(new List<Tensor> { probabilities });
            return probabilities;
        }

        /// <summary>
        /// The probabilities without autograd: one fp32 working tensor (the scores' upcast, or in fp32 a scaled copy), masked and
        /// softmaxed in place, then cast to the scores' dtype; every temporary but the result is freed before it returns.
        /// </summary>
        private static Tensor Probabilities(Tensor scores, double scale, bool causal, long window, Tensor? hidden)
        {
            var x = scores.dtype == ScalarType.Float32 ? scores.mul(scale) : scores.to(ScalarType.Float32).mul_(scale);
            long queries = scores.shape[^2], keys = scores.shape[^1];
            if (causal)
            {
                // Query i sits at position i + keys − queries (bottom-right aligned) and sees keys up to it, and with a window only
                // the last `window` of them.
                using var future = ones(queries, keys, dtype: ScalarType.Bool, device: scores.device).triu_(1 + keys - queries);
                if (window > 0)
                {
                    using var past = ones(queries, keys, dtype: ScalarType.Bool, device: scores.device).tril_(keys - queries - window);
                    future.logical_or_(past);
                }
                x.masked_fill_(future, double.NegativeInfinity);
            }
            if (hidden is not null)
                x.masked_fill_(hidden, double.NegativeInfinity);
            using (var max = x.amax(new long[] { -1 }, keepdim: true))
                x.sub_(max);
            x.exp_();
            using (var sum = x.sum(-1, keepdim: true))
                x.div_(sum);
            if (scores.dtype == ScalarType.Float32)
                return x;
            var probabilities = x.to(scores.dtype);
            x.Dispose();
            return probabilities;
        }

        /// <inheritdoc/>
        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            // An exception crossing TorchSharp's native engine ends the process: record it and hand back no gradient.
            try
            {
                var scale = (double)ctx.get_data(ScaleKey);
                // Frees the previous ModelGen backward's returned handles, and below this one's incoming gradient: TorchSharp puts
                // both in the training step's dispose scope, where a b·heads·s² gradient per layer would otherwise wait for the
                // step's end (docs/memory-check.md, the quantized and QLoRA rows).
                Parallel.BackwardHandles.ReleaseReturned();
                using var scope = NewDisposeScope();
                var p = ctx.get_saved_variables()[0];
                var p32 = p.to(ScalarType.Float32);
                // One score-sized fp32 tensor, reused in place: a second (p·Σ) would be one more b·heads·s² block alive in
                // backward that libtorch's own softmax backward does not allocate and the memory model does not count.
                var product = grad_output.dtype == ScalarType.Float32 ? grad_output.mul(p32) : grad_output.to(ScalarType.Float32).mul_(p32);
                var rowSum = product.sum(-1, keepdim: true);
                // p·g − p·Σ(g·p) = p·(g − Σ g·p), the softmax Jacobian-vector product, then the scale's chain factor.
                var grad = product.addcmul_(p32, rowSum, value: -1).mul_(scale).to(p.dtype);
                var result = new List<Tensor> { grad };
                for (var i = 1; i < (int)ctx.get_data(InputsKey); i++)
                    result.Add(null!);
                return Parallel.BackwardHandles.Return(grad_output, result);
            }
            catch (Exception exception)
            {
                BackwardFailures.Record(new InvalidOperationException($"Attention's softmax failed in backward: {exception.Message}", exception));
                var none = new List<Tensor>();
                var inputs = ctx.get_data(InputsKey) is int count ? count : 4;
                for (var i = 0; i < inputs; i++)
                    none.Add(null!);
                return none;
            }
        }
    }
}
