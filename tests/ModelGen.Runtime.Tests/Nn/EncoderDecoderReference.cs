using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Nn
{
    /// <summary>
    /// Plain torch-op references for <see cref="CrossAttention"/> and <see cref="RelativeAttention"/>, written from the papers' formulas
    /// (Vaswani et al. 2017 eq. 1; Raffel et al. 2020 §2.1) with autograd's own softmax and a scalar bucketing loop.
    /// </summary>
    internal static class EncoderDecoderReference
    {
        /// <summary>T5's bucket of one offset (key − query), in double arithmetic, one value at a time.</summary>
        public static long Bucket(long offset, long buckets, bool bidirectional, long maxDistance)
        {
            long result = 0;
            var perSide = buckets;
            long distance;
            if (bidirectional)
            {
                perSide /= 2;
                if (offset > 0)
                    result += perSide;
                distance = Math.Abs(offset);
            }
            else
            {
                distance = Math.Max(-offset, 0);
            }
            var exact = perSide / 2;
            if (distance < exact)
                return result + distance;
            var large = exact + (long)(Math.Log((double)distance / exact) / Math.Log((double)maxDistance / exact) * (perSide - exact));
            return result + Math.Min(large, perSide - 1);
        }

        /// <summary>The <c>[1, heads, q, k]</c> bias of a table for q queries (the last positions) and k keys.</summary>
        public static Tensor Bias(Tensor table, long queries, long keys, bool bidirectional, long maxDistance)
        {
            var buckets = table.shape[0];
            var indices = new List<long>();
            for (var i = keys - queries; i < keys; i++)
                for (var j = 0L; j < keys; j++)
                    indices.Add(Bucket(j - i, buckets, bidirectional, maxDistance));
            var index = torch.tensor(indices.ToArray(), device: table.device);
            return table.index_select(0, index).view(queries, keys, table.shape[1]).permute(2, 0, 1).unsqueeze(0);
        }

        /// <summary>softmax(scale · q kᵀ + bias + mask) v, then the output projection.</summary>
        private static Tensor Attend(Tensor x, Tensor memory, TorchSharp.Modules.Linear qp, TorchSharp.Modules.Linear kp, TorchSharp.Modules.Linear vp,
            TorchSharp.Modules.Linear op, long heads, bool scaled, bool causal, Tensor? bias)
        {
            long b = x.shape[0], sq = x.shape[1], sk = memory.shape[1], hidden = x.shape[2], d = hidden / heads;
            Tensor Split(Tensor t, long s) => t.view(b, s, heads, d).transpose(1, 2);
            var q = Split(qp.call(x), sq);
            var k = Split(kp.call(memory), sk);
            var v = Split(vp.call(memory), sk);
            var scores = q.matmul(k.transpose(-2, -1));
            if (scaled)
                scores = scores / Math.Sqrt(d);
            if (bias is not null)
                scores = scores + bias;
            if (causal)
                scores = scores.masked_fill(ones(sq, sk, dtype: ScalarType.Bool).triu(1 + sk - sq), double.NegativeInfinity);
            var p = scores.softmax(-1);
            return op.call(p.matmul(v).transpose(1, 2).reshape(b, sq, hidden));
        }

        /// <summary>The reference output of <paramref name="m"/> from <paramref name="x"/> to <paramref name="memory"/>.</summary>
        public static Tensor Forward(CrossAttention m, Tensor x, Tensor memory) =>
            Attend(x, memory, m.q_proj, m.k_proj, m.v_proj, m.o_proj, m.Heads, m.Scaled, causal: false, bias: null);

        /// <summary>The reference output of <paramref name="m"/> on <paramref name="x"/>.</summary>
        public static Tensor Forward(RelativeAttention m, Tensor x)
        {
            var table = m.relative_attention_bias;
            var bias = Bias(table.weight, x.shape[1], x.shape[1], table.Bidirectional, table.MaxDistance);
            return Attend(x, x, m.q_proj, m.k_proj, m.v_proj, m.o_proj, m.Heads, m.Scaled, m.Causal, bias);
        }

        /// <summary>Gradients of every parameter and of <paramref name="inputs"/> after backward of <c>Σ y · weights</c>; clears them after.</summary>
        public static Dictionary<string, Tensor> Gradients(nn.Module module, Tensor y, Tensor weights, params Tensor[] inputs)
        {
            (y * weights).sum().backward();
            var result = module.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
            for (var i = 0; i < inputs.Length; i++)
                result["input" + i] = inputs[i].grad!.clone();
            module.zero_grad();
            foreach (var input in inputs)
                input.grad!.zero_();
            return result;
        }
    }
}
