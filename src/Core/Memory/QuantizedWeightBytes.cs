using System;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Exact stored bytes of a quantized Linear weight, in the byte layout of the runtime's <c>QuantizedLinear</c>
    /// (the formats in <c>ModelGen.Quantization</c>; bias excluded, it stays a trainable parameter):
    /// Int8: int8 [out, in] + fp32 scale per output row. Int4: two codes per byte + bf16 scale and bf16 zero point per
    /// group of <c>g</c> input columns of a row. NF4: two codes per byte + fp32 absmax per block of <c>g</c> elements; with double
    /// quantization a uint8 absmax per block, an fp32 scale per 256 blocks and one fp32 offset (QLoRA, Dettmers et al. 2023, §3).
    /// </summary>
    internal static class QuantizedWeightBytes
    {
        /// <summary>Absmax constants sharing one second-level scale under double quantization (QLoRA §3).</summary>
        public const int DoubleQuantBlockSize = 256;

        /// <summary>Default int4 group and NF4 block sizes when a spec says 0.</summary>
        public static int GroupSize(QuantSpec quant) => quant.GroupSize != 0 ? quant.GroupSize : quant.Kind switch
        {
            QuantKind.Int4 => 128,
            QuantKind.NF4 => 64,
            _ => 0,
        };

        /// <summary>Stored bytes of an [<paramref name="outFeatures"/>, <paramref name="inFeatures"/>] weight.</summary>
        /// <exception cref="ArgumentException">The group does not divide the weight as the format requires.</exception>
        public static long Of(QuantSpec quant, long inFeatures, long outFeatures)
        {
            var n = inFeatures * outFeatures;
            var g = GroupSize(quant);
            switch (quant.Kind)
            {
                case QuantKind.Int8:
                    return n + (Sizes.Fp32 * outFeatures);
                case QuantKind.Int4:
                    if (g <= 0 || inFeatures % g != 0 || inFeatures % 2 != 0)
                        throw new ArgumentException($"Int4 with group size {g} needs in-features divisible by the group (and by 2), got {inFeatures}.");
                    return (n / 2) + (2 * 2 * (n / g));
                case QuantKind.NF4:
                    if (g <= 0 || inFeatures % g != 0 || n % 2 != 0)
                        throw new ArgumentException($"NF4 with block size {g} needs in-features divisible by the block, got {inFeatures}.");
                    var blocks = n / g;
                    return quant.DoubleQuant
                        ? (n / 2) + blocks + (Sizes.Fp32 * ((blocks + DoubleQuantBlockSize - 1) / DoubleQuantBlockSize)) + Sizes.Fp32
                        : (n / 2) + (Sizes.Fp32 * blocks);
                default:
                    throw new ArgumentException($"{quant.Kind} is not a quantization format.");
            }
        }
    }
}
