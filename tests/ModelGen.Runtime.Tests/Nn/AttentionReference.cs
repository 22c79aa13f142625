using System;
using ModelGen.Nn;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Runtime.Tests.Nn
{
    /// <summary>
    /// Attention written out in fp64 from the module's own weights, independently of the module's code paths:
    /// rotary by explicit pair rotation, key/value sharing by repeat_interleave, softmax over explicitly masked scores.
    /// </summary>
    internal static class AttentionReference
    {
        public static Tensor Forward(Attention m, Tensor x, double ropeTheta = 10000)
        {
            long b = x.shape[0], s = x.shape[1];
            var x64 = x.to(ScalarType.Float64);
            var q = Heads(Project(m.q_proj, x64), b, s, m.Heads, m.HeadDim);
            var k = Heads(Project(m.k_proj, x64), b, s, m.KvHeads, m.HeadDim);
            var v = Heads(Project(m.v_proj, x64), b, s, m.KvHeads, m.HeadDim);
            if (m.Rotary is not null)
            {
                q = Rotate(q, ropeTheta, startPosition: 0);
                k = Rotate(k, ropeTheta, startPosition: 0);
            }
            var group = m.Heads / m.KvHeads;
            k = k.repeat_interleave(group, dim: 1);
            v = v.repeat_interleave(group, dim: 1);

            var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(m.HeadDim);
            if (m.Causal)
                scores = scores.masked_fill(torch.ones(s, s, dtype: ScalarType.Bool).triu(1), double.NegativeInfinity);
            var context = scores.softmax(-1).matmul(v).permute(0, 2, 1, 3).reshape(b, s, m.Heads * m.HeadDim);
            return Project(m.o_proj, context);
        }

        /// <summary>
        /// RoFormer rotation in the rotate-half layout: features i and i + d/2 of position p rotate by p·theta^(−2i/d),
        /// angles computed in fp64 on the host.
        /// </summary>
        public static Tensor Rotate(Tensor x, double theta, long startPosition)
        {
            long seq = x.shape[^2], d = x.shape[^1], half = d / 2;
            var cos = new double[seq * half];
            var sin = new double[seq * half];
            for (long p = 0; p < seq; p++)
            {
                for (long i = 0; i < half; i++)
                {
                    var angle = (startPosition + p) * Math.Pow(theta, -2.0 * i / d);
                    cos[p * half + i] = Math.Cos(angle);
                    sin[p * half + i] = Math.Sin(angle);
                }
            }
            var c = torch.tensor(cos, new[] { seq, half });
            var sn = torch.tensor(sin, new[] { seq, half });
            var x64 = x.to(ScalarType.Float64);
            var first = x64.narrow(-1, 0, half);
            var second = x64.narrow(-1, half, half);
            return torch.cat(new[] { first * c - second * sn, second * c + first * sn }, -1);
        }

        private static Tensor Project(TorchSharp.Modules.Linear linear, Tensor x)
        {
            var y = x.matmul(linear.weight.detach().to(ScalarType.Float64).t());
            return linear.bias is null ? y : y + linear.bias.detach().to(ScalarType.Float64);
        }

        private static Tensor Heads(Tensor projected, long b, long s, long heads, long d) =>
            projected.view(b, s, heads, d).permute(0, 2, 1, 3);
    }
}
