using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// The 4-bit NormalFloat data type: 16 values, quantiles of N(0, 1) scaled to [-1, 1] with an exact zero
    /// (QLoRA, Dettmers et al. 2023, §3 "4-bit NormalFloat Quantization"; the table is the one published in Appendix E).
    /// </summary>
    public static class NormalFloat4
    {
        private static readonly float[] Table =
        {
            -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
            -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
            0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
            0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
        };

        /// <summary>The 16 NF4 values in code order (code 0 = -1, code 7 = 0, code 15 = 1).</summary>
        public static IReadOnlyList<float> Values { get; } = Array.AsReadOnly(Table);

        /// <summary>
        /// The largest distance from a point of [-1, 1] to its nearest NF4 value: half the widest gap, between −1 and −0.6962 (0.1519).
        /// The per-element round-trip error of a block is at most this times the block's absmax.
        /// </summary>
        public static double MaxRoundingError { get; } = ComputeMaxRoundingError();

        /// <summary>The table as a float32 tensor on <paramref name="device"/>.</summary>
        public static Tensor ValuesTensor(Device? device = null) => tensor(Table, device: device);

        /// <summary>
        /// The code of the nearest NF4 value for each element of <paramref name="normalized"/> (values outside [-1, 1] take the
        /// end codes), as uint8 of the same shape. Ties between two values go to the lower code.
        /// </summary>
        public static Tensor Encode(Tensor normalized)
        {
            ArgumentNullException.ThrowIfNull(normalized);
            using var scope = NewDisposeScope();
            var midpoints = new float[Table.Length - 1];
            for (int i = 0; i < midpoints.Length; i++)
                midpoints[i] = (Table[i] + Table[i + 1]) / 2;
            // bucketize returns i with midpoints[i-1] < x <= midpoints[i]: exactly the index of the nearest table value.
            var codes = normalized.to(ScalarType.Float32).bucketize(tensor(midpoints, device: normalized.device));
            return codes.to(ScalarType.Byte).MoveToOuterDisposeScope();
        }

        /// <summary>The NF4 values (float32) of uint8 codes in [0, 15], same shape as <paramref name="codes"/>.</summary>
        public static Tensor Decode(Tensor codes)
        {
            ArgumentNullException.ThrowIfNull(codes);
            using var table = ValuesTensor(codes.device);
            // index_select takes int32 indices, half the transient of int64; uint8 indices would be read as a boolean mask.
            using var index = codes.reshape(-1).to(ScalarType.Int32);
            using var flat = table.index_select(0, index);
            return flat.view(codes.shape);
        }

        private static double ComputeMaxRoundingError()
        {
            double widest = 0;
            for (int i = 0; i + 1 < Table.Length; i++)
                widest = Math.Max(widest, (double)Table[i + 1] - Table[i]);
            return widest / 2;
        }
    }
}
