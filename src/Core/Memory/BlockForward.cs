using System.Collections.Generic;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// The tensors each block's forward creates, op by op, and which of them autograd saves, following PyTorch's derivative rules
    /// (linear saves its input, gelu/silu their input, mul both operands, softmax its output, layer_norm its input, mean and rstd,
    /// dropout its mask, add and casts nothing) applied to the exact op sequence of the module the generator creates.
    /// Shapes are per tensor-parallel rank. Sublayers and stacks are handled by the layer walker.
    /// </summary>
    internal static class BlockForward
    {
        /// <summary>The tensors <paramref name="block"/> creates in <paramref name="pass"/>, its activations being <paramref name="d"/> bytes per element.</summary>
        /// <param name="block">A primitive block.</param>
        /// <param name="d">Bytes per element of the block's compute dtype.</param>
        /// <param name="pass">Shapes and mode.</param>
        /// <param name="width">For a Dropout: the width of the tensor it applies to.</param>
        /// <param name="selective">The layer checkpoints attention cores (Korthikanti et al. 2022, §4.2).</param>
        /// <param name="pooled">A Linear or Dropout that reads one row per sequence (after a pooler, or a classifier head: <see cref="Heads.Pooled"/>).</param>
        public static List<Created> Of(BlockSpec block, int d, Pass pass, long width, bool selective, bool pooled = false)
        {
            var list = new List<Created>();
            var name = block.Name;
            var t = block.Shard == ShardStyle.None ? 1 : pass.Ranks;
            var tokens = pooled ? pass.Batch : pass.Tokens;
            var training = pass.Training;
            void Saved(string what, long bytes, bool replicated = false) => list.Add(new Created(name, what, bytes, training, replicated));
            // The block's input exists before it runs: saved in training, not one of its temporaries otherwise.
            void Input(string what, long bytes, bool replicated)
            {
                if (training)
                    Saved(what, bytes, replicated);
            }
            void Temp(string what, long bytes) => list.Add(new Created(name, what, bytes, false, false));

            switch (block)
            {
                case LinearSpec linear:
                {
                    var rankIn = block.Shard == ShardStyle.Row ? Sizes.Share(linear.In.Value, t) : linear.In.Value;
                    var rankOut = block.Shard is ShardStyle.Column or ShardStyle.Vocab ? Sizes.Share(linear.Out.Value, t) : linear.Out.Value;
                    // A quantized weight is frozen: QuantizedLinearFunction saves only its quantized buffers (counted as weights)
                    // and dequantizes again in backward for the input's gradient, so it keeps no activation.
                    if (block.Quant is null)
                        Input("input", tokens * rankIn * d, block.Shard != ShardStyle.Row);
                    else
                        Temp("dequantized weight", rankIn * rankOut * d);
                    Temp("output", tokens * rankOut * d);
                    break;
                }
                case EmbeddingSpec embedding:
                    Input("token ids (int64)", tokens * Sizes.Int64, true);
                    Temp("output", tokens * embedding.Width.Value * d);
                    break;
                case LayerNormSpec norm:
                    Input("input", tokens * norm.Hidden.Value * d, true);
                    Saved("mean and rstd (fp32)", 2 * tokens * Sizes.Fp32, replicated: true);
                    Temp("output", tokens * norm.Hidden.Value * d);
                    break;
                case RmsNormSpec norm:
                    RmsNorm(norm.Hidden.Value, d, tokens, Saved, Input, Temp);
                    break;
                case DropoutSpec dropout:
                    // Eval mode and p = 0 return the input itself (ATen's dropout short-circuits).
                    if (training && dropout.P > 0)
                    {
                        Saved(pass.Device.DropoutMaskIsBoolean ? "mask (bool)" : "mask (scaled noise)", tokens * width * (pass.Device.DropoutMaskIsBoolean ? 1 : d), replicated: true);
                        Temp("output", tokens * width * d);
                    }
                    break;
                case PoolerSpec pooler:
                {
                    // The first token is copied out (dense saves the copy, not a view of the whole input); tanh saves its output.
                    var row = pass.Batch * pooler.Hidden.Value * d;
                    Saved("first token (dense input)", row, replicated: true);
                    Temp("dense output (tanh input)", row);
                    Saved("tanh output", row, replicated: true);
                    break;
                }
                case AttentionSpec attention:
                    AttentionForward.Add(attention, d, pass, t, selective, list);
                    break;
                case MixtureOfExpertsSpec moe:
                    MixtureOfExpertsTerms.Forward(moe, d, pass, tokens, (what, bytes) => Saved(what, bytes, true), (what, bytes) => Input(what, bytes, true), Temp);
                    break;
                case FeedForwardSpec feedForward:
                {
                    var inner = Sizes.Share(feedForward.Inner.Value, t) * tokens * d;
                    // Quantized projections save no input (QuantizedProjections): the block input and down_proj's input are then temporaries.
                    var quantized = block.Quant is not null;
                    if (quantized)
                        Temp(QuantizedProjections.DequantizedWeight, QuantizedProjections.DequantizedWeightBytes(block, d));
                    else
                        Input("input", tokens * feedForward.Hidden.Value * d, true);
                    System.Action<string, long> downInput = quantized ? Temp : (what, bytes) => Saved(what, bytes);
                    switch (feedForward.Activation)
                    {
                        case FeedForwardActivation.SwiGlu:
                        case FeedForwardActivation.GeGlu:
                        {
                            // act(gate) saves its input, the product saves both factors, down_proj saves the product.
                            var act = feedForward.Activation == FeedForwardActivation.SwiGlu ? "silu" : "gelu";
                            Saved($"gate_proj output ({act} input)", inner);
                            Saved($"{act} output", inner);
                            Saved("up_proj output", inner);
                            downInput($"{act}(gate) * up (down_proj input)", inner);
                            break;
                        }
                        case FeedForwardActivation.Relu:
                            // relu's backward reads its output (threshold_backward), which is also down_proj's input.
                            Temp("up_proj output (relu input)", inner);
                            Saved("relu output (down_proj input; relu's backward reads it too)", inner);
                            break;
                        default:
                        {
                            var act = feedForward.Activation == FeedForwardActivation.Silu ? "silu" : "gelu";
                            Saved($"up_proj output ({act} input)", inner);
                            downInput($"{act} output (down_proj input)", inner);
                            break;
                        }
                    }
                    Temp("output", tokens * feedForward.Hidden.Value * d);
                    break;
                }
                case CrossAttentionSpec or RelativeAttentionSpec:
                    EncoderDecoderTerms.Forward(block, d, pass, list); // EncoderDecoderTerms.cs
                    break;
            }
            return list;
        }

        /// <summary>ModelGen's RmsNorm: statistics in fp32 whatever the input dtype (x.to(fp32), square, mean, rsqrt, scale, cast back).</summary>
        private static void RmsNorm(long hidden, int d, long tokens, System.Action<string, long, bool> saved, System.Action<string, long, bool> input, System.Action<string, long> temp)
        {
            var row = tokens * hidden;
            if (d < Sizes.Fp32)
                saved("input cast to fp32", row * Sizes.Fp32, true);
            else
                input("input", row * Sizes.Fp32, true);
            temp("square", row * Sizes.Fp32);
            temp("mean square + eps", 2 * tokens * Sizes.Fp32);
            saved("rsqrt (fp32)", tokens * Sizes.Fp32, true);
            if (d < Sizes.Fp32)
            {
                temp("normalized (fp32)", row * Sizes.Fp32);
                saved("normalized", row * d, true);
            }
            else
            {
                saved("normalized", row * Sizes.Fp32, true);
            }
            temp("output", row * d);
        }
    }
}
