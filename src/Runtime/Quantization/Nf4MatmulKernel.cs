using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// y = x·Wᵀ for an NF4 weight at few rows (decoding), computed from the packed codes without ever building a dequantized weight:
    /// libtorch has no NF4 kernel for the CPU (bitsandbytes' are CUDA only) and its affine int4 kernel cannot compute NF4's
    /// non-uniform levels, so this one is written here, as llama.cpp's CPU kernels do for their 4-bit formats (a 16-entry table
    /// lookup in registers, then fused multiply-adds).
    /// </summary>
    /// <remarks>
    /// <para>Per block of b elements of row n: <c>y[m, n] += absmax[block] · Σ value[code]·x[m, k]</c> (QLoRA, Dettmers et al. 2023,
    /// §3: <c>Ŵ = value[code] · absmax</c>). The 16 values and the absmax constants are first rounded to the compute dtype, as the
    /// dequantizing path rounds them, and the sums run in fp32; only the per-element product is not rounded to the compute dtype, so
    /// the result equals the dequantized output to fp32 rounding in fp32, and within bf16 rounding in bf16.</para>
    /// <para>x is de-interleaved once per call (even and odd columns), so each byte's two codes (high nibble = element 2p, low =
    /// 2p + 1, bitsandbytes' order) meet their inputs without a shuffle. With AVX-512 a byte chunk becomes 16 codes per vector
    /// (<c>vpmovzxbd</c>) and 16 values (<c>vpermps</c> over the 16-entry table); elsewhere a scalar loop does the same arithmetic.
    /// Rows are split across <c>torch.get_num_threads()</c> workers.</para>
    /// </remarks>
    internal static class Nf4MatmulKernel
    {
        /// <summary>Rows (tokens × batch) up to which the kernel is used: it decodes each weight byte once and reuses it for every row.</summary>
        public const long MaxRows = 16;

        /// <summary>Output rows per parallel work item.</summary>
        private const int RowsPerTask = 64;

        /// <summary>Tests turn the vector path off to check the scalar one on machines that have AVX-512.</summary>
        internal static bool AllowVectors { get; set; } = true;

        /// <summary>Whether the kernel applies: blocks must not straddle rows and chunks of the codes are 16 bytes (32 codes).</summary>
        public static bool Fits(long inFeatures, int blockSize) => inFeatures % blockSize == 0 && blockSize % 32 == 0;

        /// <summary>
        /// y [M, N] in <paramref name="dtype"/> (bf16 or fp32) from x [M, K] (any float dtype), the packed codes (uint8 [N·K/2], high
        /// nibble first) and the layer's absmax buffers: <c>[absmax fp32]</c>, or with double quantization
        /// <c>[absmax_q uint8, scale fp32 per 256 blocks, offset fp32]</c>, undone per row inside the kernel
        /// (<c>(q − 128)·scale + offset</c> in fp32, as <see cref="NF4WeightFormat"/> does), so no per-call tensor of the absmax is built.
        /// </summary>
        public static Tensor Matmul(Tensor x, Tensor codes, Tensor[] absmax, long outFeatures, int blockSize, ScalarType dtype)
        {
            using var scope = NewDisposeScope();
            long m = x.shape[0], k = x.shape[1];
            var pairs = x.to(ScalarType.Float32).view(m, k / 2, 2);
            var even = pairs.select(2, 0).contiguous(); // x[:, 2p]: the high-nibble codes' inputs
            var odd = pairs.select(2, 1).contiguous();  // x[:, 2p + 1]: the low-nibble codes' inputs
            // The values and the constants as the dequantizing path sees them: rounded to the compute dtype.
            var table = NormalFloat4.ValuesTensor(x.device).to(dtype).to(ScalarType.Float32).contiguous();
            var codeBytes = codes.contiguous();
            var y = zeros(new[] { m, outFeatures }, ScalarType.Float32);
            var scales = Array.ConvertAll(absmax, a => a.contiguous());
            var work = new Work(codeBytes, scales, dtype == ScalarType.BFloat16, even, odd, table, y, (int)m, (int)(k / 2), outFeatures, blockSize);
            int tasks = (int)((outFeatures + RowsPerTask - 1) / RowsPerTask);
            int threads = Math.Max(1, torch.get_num_threads());
            if (OpenMpTeam.Available) // on libtorch's own threads: no hand-over to .NET's pool between this and the ops around it
                OpenMpTeam.For(tasks, threads, task => work.Rows((int)task));
            else
                System.Threading.Tasks.Parallel.For(0, tasks, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = threads }, work.Rows);
            return y.to(dtype).MoveToOuterDisposeScope();
        }

        /// <summary>One call's tensors; each worker takes spans over their memory (Span cannot be captured by a lambda).</summary>
        private sealed record Work(Tensor Codes, Tensor[] Absmax, bool Bf16, Tensor Even, Tensor Odd, Tensor Table, Tensor Output, int M, int HalfK, long N, int BlockSize)
        {
            /// <summary>Row <paramref name="n"/>'s absmax values, double quantization undone, rounded to the compute dtype.</summary>
            private void RowScales(long n, Span<float> row)
            {
                long first = n * row.Length;
                if (Absmax.Length == 1)
                {
                    MemoryMarshal.Cast<byte, float>(Absmax[0].bytes).Slice(checked((int)first), row.Length).CopyTo(row);
                }
                else
                {
                    ReadOnlySpan<byte> q = Absmax[0].bytes;
                    var scale = MemoryMarshal.Cast<byte, float>(Absmax[1].bytes);
                    float offset = MemoryMarshal.Cast<byte, float>(Absmax[2].bytes)[0];
                    for (int i = 0; i < row.Length; i++)
                    {
                        long block = first + i;
                        float centred = (q[checked((int)block)] - 128f) * scale[checked((int)(block / QuantLayout.DoubleQuantBlockSize))];
                        row[i] = centred + offset;
                    }
                }
                if (Bf16)
                {
                    for (int i = 0; i < row.Length; i++)
                        row[i] = RoundToBf16(row[i]);
                }
            }

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public void Rows(int task)
            {
                long first = (long)task * RowsPerTask, last = Math.Min(N, first + RowsPerTask);
                ReadOnlySpan<byte> codes = Codes.bytes;
                var even = MemoryMarshal.Cast<byte, float>(Even.bytes);
                var odd = MemoryMarshal.Cast<byte, float>(Odd.bytes);
                var table = MemoryMarshal.Cast<byte, float>(Table.bytes);
                var output = MemoryMarshal.Cast<byte, float>(Output.bytes);
                int blockBytes = BlockSize / 2, blocksPerRow = HalfK / blockBytes;
                bool vectors = AllowVectors && Avx512F.IsSupported;
                Span<float> rowAbsmax = blocksPerRow <= 1024 ? stackalloc float[blocksPerRow] : new float[blocksPerRow];
                for (long n = first; n < last; n++)
                {
                    var rowCodes = codes.Slice(checked((int)(n * HalfK)), HalfK);
                    RowScales(n, rowAbsmax);
                    for (int r = 0; r < M; r++)
                    {
                        var xe = even.Slice(r * HalfK, HalfK);
                        var xo = odd.Slice(r * HalfK, HalfK);
                        output[checked((int)((r * N) + n))] = vectors
                            ? RowVector512(rowCodes, rowAbsmax, xe, xo, table, blockBytes)
                            : RowScalar(rowCodes, rowAbsmax, xe, xo, table, blockBytes);
                    }
                }
            }
        }

        /// <summary>fp32 → bf16 → fp32, rounding to nearest, ties to even (what <c>.to(bfloat16)</c> does for finite values).</summary>
        private static float RoundToBf16(float value)
        {
            uint bits = BitConverter.SingleToUInt32Bits(value);
            bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
            return BitConverter.UInt32BitsToSingle(bits);
        }

        /// <summary>One output element, scalar: Σ over blocks of absmax · Σ value[code]·x.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static float RowScalar(ReadOnlySpan<byte> codes, ReadOnlySpan<float> absmax, ReadOnlySpan<float> even, ReadOnlySpan<float> odd,
            ReadOnlySpan<float> table, int blockBytes)
        {
            float total = 0;
            for (int block = 0; block < absmax.Length; block++)
            {
                float sum = 0;
                int start = block * blockBytes;
                for (int p = start; p < start + blockBytes; p++)
                {
                    byte b = codes[p];
                    sum += (table[b >> 4] * even[p]) + (table[b & 0x0F] * odd[p]);
                }
                total += absmax[block] * sum;
            }
            return total;
        }

        /// <summary>One output element with AVX-512: 16 bytes (32 codes) per step, table lookups by <c>vpermps</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static float RowVector512(ReadOnlySpan<byte> codes, ReadOnlySpan<float> absmax, ReadOnlySpan<float> even, ReadOnlySpan<float> odd,
            ReadOnlySpan<float> table, int blockBytes)
        {
            var values = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(table));
            var lowMask = Vector128.Create((byte)0x0F);
            ref byte c = ref MemoryMarshal.GetReference(codes);
            ref float xe = ref MemoryMarshal.GetReference(even);
            ref float xo = ref MemoryMarshal.GetReference(odd);
            var total = Vector512<float>.Zero;
            for (int block = 0; block < absmax.Length; block++)
            {
                var sum = Vector512<float>.Zero;
                int start = block * blockBytes;
                for (int p = start; p < start + blockBytes; p += 16)
                {
                    var bytes = Vector128.LoadUnsafe(ref c, (nuint)p);
                    var high = Avx512F.ConvertToVector512Int32(Vector128.ShiftRightLogical(bytes, 4));
                    var low = Avx512F.ConvertToVector512Int32(bytes & lowMask);
                    sum = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(values, high), Vector512.LoadUnsafe(ref xe, (nuint)p), sum);
                    sum = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32(values, low), Vector512.LoadUnsafe(ref xo, (nuint)p), sum);
                }
                total = Avx512F.FusedMultiplyAdd(sum, Vector512.Create(absmax[block]), total);
            }
            return Vector512.Sum(total);
        }
    }
}
