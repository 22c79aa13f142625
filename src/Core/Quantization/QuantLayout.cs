using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ModelGen.Quantization
{
    /// <summary>
    /// The storage layout of each weight-only quantization format: default and allowed group sizes, validation, and the exact
    /// number of bytes the quantized weight occupies. Plain arithmetic (no TorchSharp), shared by the memory model and the
    /// runtime's <c>QuantizedLinear</c>, whose stored bytes are tested to equal <see cref="WeightBytes"/>.
    /// </summary>
    /// <remarks>
    /// Layouts (all counts exact):
    /// <list type="bullet">
    /// <item><b>Int8</b>: <c>weight</c> int8 [out, in] + <c>weight_scale</c> fp32 [out] (symmetric absmax/127 per output row).</item>
    /// <item><b>Int4</b>: <c>weight</c> uint8 [out, in/2] (two codes per byte, low nibble first) + <c>weight_scale</c> and
    /// <c>weight_zero</c> bf16 [out, in/group] (asymmetric min/max, integer zero point in [0, 15]).</item>
    /// <item><b>NF4</b>: <c>weight</c> uint8 [out·in/2] (high nibble first, as bitsandbytes) + <c>weight_absmax</c> fp32 per block;
    /// with double quantization instead <c>weight_absmax_q</c> uint8 per block, <c>weight_absmax_scale</c> fp32 per 256 blocks and
    /// one fp32 <c>weight_absmax_offset</c> (QLoRA, Dettmers et al. 2023, §3 "Double Quantization").</item>
    /// </list>
    /// </remarks>
    public static class QuantLayout
    {
        /// <summary>Default int4 group size (elements of one input row sharing a scale and zero point).</summary>
        public const int Int4DefaultGroupSize = 128;

        /// <summary>Default NF4 block size (QLoRA's choice, §3).</summary>
        public const int NF4DefaultBlockSize = 64;

        /// <summary>Blocks of absmax constants sharing one second-level scale under double quantization (QLoRA §3).</summary>
        public const int DoubleQuantBlockSize = 256;

        /// <summary>
        /// The group (block) sizes a format accepts: Int4 32, 64 or 128; NF4 32, 64, 128 or 256; none for Int8, whose one
        /// scale per output row needs no group. The runtime, the memory model and the analyzers all check against this list.
        /// </summary>
        public static IReadOnlyList<int> SupportedGroupSizes(QuantKind kind) => kind switch
        {
            QuantKind.Int4 => Int4GroupSizes,
            QuantKind.NF4 => Nf4BlockSizes,
            _ => Array.Empty<int>(),
        };

        private static readonly int[] Int4GroupSizes = { 32, 64, 128 };
        private static readonly int[] Nf4BlockSizes = { 32, 64, 128, 256 };

        /// <summary>
        /// The group (block) size actually used: <paramref name="groupSize"/> when given, else the kind's default;
        /// for Int8 the whole input row (one scale per output channel).
        /// </summary>
        /// <exception cref="ArgumentException">The combination is not a valid layout; the message names the values.</exception>
        public static int ResolveGroupSize(QuantKind kind, int groupSize, bool doubleQuant, long inFeatures, long outFeatures)
        {
            if (inFeatures <= 0 || outFeatures <= 0)
                throw new ArgumentException(Format("A quantized Linear needs positive sizes, got inFeatures={0}, outFeatures={1}.", inFeatures, outFeatures));
            int g = CheckGroupSize(kind, groupSize, doubleQuant);
            if (kind == QuantKind.Int8)
            {
                if (groupSize != 0 && groupSize != inFeatures)
                    throw new ArgumentException(Format("Int8 quantization keeps one scale per output channel; groupSize must be 0 (or inFeatures={0}), got {1}.", inFeatures, groupSize), nameof(groupSize));
                if (inFeatures > int.MaxValue)
                    throw new ArgumentException(Format("Int8 quantization needs inFeatures <= {0}, got {1}.", int.MaxValue, inFeatures), nameof(inFeatures));
                return (int)inFeatures;
            }

            // Groups never straddle two rows, so a group's scale belongs to one output channel (and int4 packs whole rows).
            if (inFeatures % g != 0)
                throw new ArgumentException(Format("{0} with group size {1} needs inFeatures divisible by {1}, got inFeatures={2}.", kind, g, inFeatures), nameof(inFeatures));
            return g;
        }

        /// <summary>Validates the kind and group size alone; returns the group in use (0 for Int8, whose group is the row).</summary>
        private static int CheckGroupSize(QuantKind kind, int groupSize, bool doubleQuant)
        {
            if (doubleQuant && kind != QuantKind.NF4)
                throw new ArgumentException(Format("Double quantization applies to NF4 only, not {0}.", kind), nameof(doubleQuant));
            switch (kind)
            {
                case QuantKind.Int8:
                    return 0;
                case QuantKind.Int4:
                {
                    int g = groupSize == 0 ? Int4DefaultGroupSize : groupSize;
                    if (!SupportedGroupSizes(kind).Contains(g))
                        throw new ArgumentException(Format("Int4 group size must be 32, 64 or 128 (0 = {0}), got {1}.", Int4DefaultGroupSize, groupSize), nameof(groupSize));
                    return g;
                }

                case QuantKind.NF4:
                {
                    int b = groupSize == 0 ? NF4DefaultBlockSize : groupSize;
                    if (!SupportedGroupSizes(kind).Contains(b))
                        throw new ArgumentException(Format("NF4 block size must be 32, 64, 128 or 256 (0 = {0}), got {1}.", NF4DefaultBlockSize, groupSize), nameof(groupSize));
                    return b;
                }

                case QuantKind.None:
                    throw new ArgumentException("QuantKind.None is not a quantization format; use a plain Linear for unquantized weights.", nameof(kind));
                default:
                    throw new ArgumentException(Format("Unknown quantization kind {0}.", (int)kind), nameof(kind));
            }
        }

        /// <summary>
        /// Exact bytes of all quantized-weight buffers of an [<paramref name="outFeatures"/>, <paramref name="inFeatures"/>]
        /// weight (scales, zero points and absmax constants included; bias excluded).
        /// </summary>
        /// <exception cref="ArgumentException">The combination is not a valid layout.</exception>
        public static long WeightBytes(QuantKind kind, int groupSize, bool doubleQuant, long inFeatures, long outFeatures)
        {
            int g = ResolveGroupSize(kind, groupSize, doubleQuant, inFeatures, outFeatures);
            long n = inFeatures * outFeatures;
            switch (kind)
            {
                case QuantKind.Int8:
                    return n + 4 * outFeatures;
                case QuantKind.Int4:
                    // scale and zero: 2 bytes each (bf16) per group
                    return n / 2 + 2 * 2 * (n / g);
                default:
                {
                    long blocks = n / g;
                    if (!doubleQuant)
                        return n / 2 + 4 * blocks;
                    long secondLevel = (blocks + DoubleQuantBlockSize - 1) / DoubleQuantBlockSize;
                    return n / 2 + blocks + 4 * secondLevel + 4;
                }
            }
        }

        /// <summary>
        /// Stored bytes per weight element of the parts that grow with the element count (the rate the memory model multiplies
        /// by in·out): Int8 = 1; Int4 = 0.5 + 4/group (bf16 scale and zero); NF4 = 0.5 + 4/block (fp32 absmax);
        /// NF4 with double quantization = 0.5 + 1/block + 4/(256·block) (QLoRA, Dettmers et al. 2023, §3: 4.127 bits at block 64).
        /// Times in·out this is exactly <see cref="WeightBytes"/> for Int4 and NF4; the other two add constants that do not grow
        /// with the weight: Int8 its fp32 scale per output row (4·out bytes), NF4 with double quantization its fp32 offset
        /// (4 bytes) and the round-up of its last 256-block of absmax codes (under 4 bytes).
        /// </summary>
        /// <param name="kind">Int8, Int4 or NF4.</param>
        /// <param name="groupSize">Int4 group or NF4 block size; 0 = the kind's default; ignored for Int8.</param>
        /// <param name="doubleQuant">NF4 only: double quantization of the absmax constants.</param>
        /// <exception cref="ArgumentException">An invalid kind, group size, or double quantization on a kind other than NF4.</exception>
        public static double BytesPerParameter(QuantKind kind, int groupSize, bool doubleQuant)
        {
            int g = CheckGroupSize(kind, groupSize, doubleQuant);
            if (kind == QuantKind.Int8)
                return 1.0;
            if (kind == QuantKind.Int4)
                return 0.5 + 4.0 / g;
            return doubleQuant
                ? 0.5 + 1.0 / g + 4.0 / ((double)DoubleQuantBlockSize * g)
                : 0.5 + 4.0 / g;
        }

        private static string Format(string format, params object[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
    }
}
