using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    public sealed partial class QuantizedLinear
    {
        /// <summary>
        /// Up to this many rows (tokens × batch) an Int8 layer on the CPU calls <c>_weight_int8pack_mm</c> when the bf16 prefill
        /// tiles do not apply (a float32 compute dtype, no AVX-512); above it, one cast of the weight is amortised over the rows and
        /// the compute-dtype GEMM wins (docs/benchmarks-quantization.md). In bf16 with the tiles the limit is
        /// <see cref="Int8KernelMaxRowsBesideTiles"/>.
        /// </summary>
        public const long Int8KernelMaxRows = 32;

        /// <summary>Up to this many rows an NF4 layer on the CPU computes from its codes in place (ModelGen's own kernel, <c>Nf4MatmulKernel</c>) when the bf16 tiles do not apply; above it, row tiles are dequantized.</summary>
        public const long Nf4KernelMaxRows = Nf4MatmulKernel.MaxRows;

        /// <summary>Up to this many rows an Int4 layer on the CPU calls <c>_weight_int4pack_mm_for_cpu</c> when the bf16 tiles do not apply; above it, row tiles are dequantized.</summary>
        public const long Int4KernelMaxRows = 64;

        /// <summary>
        /// In bf16 on a CPU with AVX-512 (where the prefill tiles apply), the Int8 kernel's limit: above 16 rows the tiles are
        /// faster (the kernel's time grows with the rows, the tiles' dequantization does not; measured in
        /// docs/benchmarks-quantization.md).
        /// </summary>
        public const long Int8KernelMaxRowsBesideTiles = Memory.PrefillTile.Int8KernelMaxRows;

        /// <summary>In bf16 with the prefill tiles, the Int4 kernel's limit (as <see cref="Int8KernelMaxRowsBesideTiles"/>).</summary>
        public const long Int4KernelMaxRowsBesideTiles = Memory.PrefillTile.Int4KernelMaxRows;

        /// <summary>In bf16 with the prefill tiles, the NF4 kernel's limit: at 8 rows the tiles were already faster.</summary>
        public const long Nf4KernelMaxRowsBesideTiles = Memory.PrefillTile.Nf4KernelMaxRows;

        // Elements of one dequantized row tile: about 1 Mi, a few MB in any compute dtype, so the transient stays in cache-sized pieces.
        private const long TileElements = 1 << 20;

        // Elements of one bf16 prefill tile (16 MiB). Measured (docs/benchmarks-quantization.md): 2048-row tiles of a 4096² weight
        // beat 256- to 1024-row ones; a whole 32 MiB weight was 2–3× slower (a second buffer that large is a new mapping,
        // page-faulted on every call). The memory model holds the same figure (PrefillTile).
        private const long PrefillTileElements = Memory.PrefillTile.MaxElements;

        // The calling thread's prefill tile (flat bf16), kept while its calls keep using tiles: allocated per call, the 16 MiB buffer
        // was mapped afresh and page-faulted on every call whenever the thread's malloc arena returned it to the system on free
        // (4,101 faults and +4–5 ms a 256-token call, on some threads and not others; docs/benchmarks-quantization.md). Freed by the
        // thread's first quantized call that takes no tile (a decode step), or by ReleasePrefillTile; the memory model holds it
        // through the prefill pass (PrefillTile, Phases.Inference).
        [ThreadStatic]
        private static Tensor? t_prefillTile;

        /// <summary>
        /// Frees the calling thread's bf16 prefill tile (at most 16 MiB), which quantized layers keep between consecutive prefill
        /// calls on the CPU; the next prefill call allocates it again. A decode step frees it by itself.
        /// </summary>
        public static void ReleasePrefillTile()
        {
            t_prefillTile?.Dispose();
            t_prefillTile = null;
        }

        /// <summary>Elements of the calling thread's kept prefill tile (0 when none is held), for tests.</summary>
        internal static long HeldPrefillTileElements => t_prefillTile?.numel() ?? 0;

        /// <summary>The calling thread's tile, at least <paramref name="elements"/> bf16 elements on <paramref name="device"/>.</summary>
        private static Tensor PrefillTileOf(long elements, Device device)
        {
            if (t_prefillTile is { } kept && kept.numel() >= elements && kept.device_type == device.type && kept.device_index == device.index)
                return kept;
            ReleasePrefillTile(); // before the larger one is allocated: never two at once
            using var noScope = NewDisposeScope();
            t_prefillTile = empty(new[] { elements }, ScalarType.BFloat16, device).DetachFromDisposeScope();
            return t_prefillTile;
        }

        private Tensor? _int4Packed;
        private Tensor? _int4ScalesAndZeros;

        /// <summary>
        /// Whether inference (no gradient) on the CPU may call libtorch's packed Int8/Int4 kernels. On by default; off gives the
        /// row-tiled dequantize-then-matmul path for every size.
        /// </summary>
        public bool UsePackedKernels { get; set; } = true;

        /// <summary>
        /// Bytes of the Int4 kernel's packed copy of the weight (codes in the kernel's layout plus scale and zero per group in the
        /// compute dtype), built on the first Int4 kernel call and kept until the weight, dtype or device changes; 0 when none is held.
        /// This is the price of the Int4 kernel: the layer then holds its weight twice (≈ 2 × <see cref="StoredBytes"/>).
        /// </summary>
        public long PackedKernelBytes =>
            (_int4Packed is null ? 0 : _int4Packed.numel() * _int4Packed.ElementSize)
            + (_int4ScalesAndZeros is null ? 0 : _int4ScalesAndZeros.numel() * _int4ScalesAndZeros.ElementSize);

        /// <summary>Frees the Int4 kernel's packed copy (it is rebuilt on the next kernel call).</summary>
        public void ReleasePackedWeight()
        {
            _int4Packed?.Dispose();
            _int4ScalesAndZeros?.Dispose();
            _int4Packed = null;
            _int4ScalesAndZeros = null;
        }

        /// <summary>Taking the state_dict is how TorchSharp's <c>load_state_dict</c> finds the buffers it overwrites, so the packed copy is released here.</summary>
        /// <inheritdoc/>
        public override Dictionary<string, Tensor> state_dict(Dictionary<string, Tensor>? destination = null, string? prefix = null)
        {
            ReleasePackedWeight();
            return base.state_dict(destination!, prefix!);
        }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing)
        {
            if (disposing)
                ReleasePackedWeight();
            base.Dispose(disposing);
        }

        /// <summary>
        /// Tests set this to send every input of a bf16 layer through the prefill tiles (where they apply), whatever its row count,
        /// so that the tiles are checked at 1 token too. Per layer, so tests running in parallel do not see it.
        /// </summary>
        internal bool ForcePrefillTiles { get; set; }

        /// <summary>y = x·Wᵀ + b without autograd: a packed kernel where one applies, else row tiles dequantized one at a time.</summary>
        private Tensor InferenceLinear(Tensor x, Tensor? bias, Tensor[] buffers)
        {
            using var scope = NewDisposeScope();
            var leading = x.shape[..^1];
            var rows = x.reshape(-1, in_features);
            long m = rows.shape[0];
            bool cpu = UsePackedKernels && x.device_type == DeviceType.CPU && m > 0;
            bool tiles = cpu && x.dtype == ScalarType.BFloat16 && Bf16TileDequantizer.Available
                && Bf16TileDequantizer.Fits(Kind, in_features, out_features, GroupSize);
            bool kernel = cpu && x.dtype is ScalarType.BFloat16 or ScalarType.Float32 && !(tiles && ForcePrefillTiles);

            bool takenByKernel = kernel && KernelTakes(m, tiles);
            if (!tiles || takenByKernel)
                ReleasePrefillTile(); // this call takes no tile: a prefill is over (the memory model frees it here too)

            Tensor y;
            if (takenByKernel)
                y = Kind switch
                {
                    QuantKind.Int8 => QuantizedKernels.Int8WeightMatmul(rows.contiguous(), buffers[0], buffers[1].to(x.dtype)),
                    QuantKind.Int4 => Int4KernelMatmul(rows.contiguous(), buffers),
                    _ => Nf4MatmulKernel.Matmul(rows, buffers[0], buffers[1..], out_features, GroupSize, x.dtype), // codes and absmax read in place
                };
            else if (tiles)
            {
                y = Bf16TiledLinear(rows.contiguous(), buffers, bias);
                bias = null; // added inside the GEMM
            }
            else if (Kind == QuantKind.Int8)
            {
                // (x·qᵀ)·s equals x·(q·s)ᵀ: the per-row scale moves to the output, saving one weight-sized multiply.
                using var q = buffers[0].to(x.dtype);
                y = nn.functional.linear(rows, q).mul_(buffers[1].to(x.dtype));
            }
            else
                y = TiledLinear(rows, buffers);

            if (bias is not null)
                y = y.add_(bias);
            var shape = new long[leading.Length + 1];
            leading.CopyTo(shape, 0);
            shape[^1] = out_features;
            return y.view(shape).MoveToOuterDisposeScope();
        }

        /// <summary>
        /// Whether <paramref name="m"/> rows go to this format's kernel rather than a dequantizing path: below the kernel's row limit,
        /// the lower one where the bf16 prefill tiles are the alternative (<paramref name="tiles"/>), and where the kernel takes the shape.
        /// </summary>
        private bool KernelTakes(long m, bool tiles) => Kind switch
        {
            QuantKind.Int8 => m <= (tiles ? Int8KernelMaxRowsBesideTiles : Int8KernelMaxRows),
            QuantKind.Int4 => m <= (tiles ? Int4KernelMaxRowsBesideTiles : Int4KernelMaxRows) && Int4KernelFits(),
            QuantKind.NF4 => m <= (tiles ? Nf4KernelMaxRowsBesideTiles : Nf4KernelMaxRows) && Nf4MatmulKernel.Fits(in_features, GroupSize),
            _ => false,
        };

        // The CPU kernel tiles K by 16 × innerKTiles (2, 4 or 8) and N by 16 (aten/src/ATen/native/cpu/int4mm_kernel.cpp).
        private bool Int4KernelFits() => in_features % 32 == 0 && out_features % 16 == 0;

        private Tensor Int4KernelMatmul(Tensor rows, Tensor[] buffers)
        {
            if (_int4Packed is null || _int4ScalesAndZeros is null || _int4ScalesAndZeros.dtype != rows.dtype)
                PackInt4(buffers, rows.dtype);
            return QuantizedKernels.Int4WeightMatmul(rows, _int4Packed!, GroupSize, _int4ScalesAndZeros!);
        }

        /// <summary>
        /// ModelGen's Int4 stores w ≈ (q − z)·s; the kernel computes (q − 8)·s + zero, so zero = (8 − z)·s (exact in fp32, rounded
        /// once to the compute dtype, as the dequantizing path rounds its products).
        /// </summary>
        private void PackInt4(Tensor[] buffers, ScalarType dtype)
        {
            ReleasePackedWeight();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var codes = NibblePacking.Unpack(buffers[0], NibbleOrder.LowFirst).to(ScalarType.Int32);
            long innerKTiles = in_features % 128 == 0 ? 8 : in_features % 64 == 0 ? 4 : 2;
            var packed = QuantizedKernels.Int4Pack(codes, innerKTiles);
            var scale = buffers[1].to(ScalarType.Float32);
            var zero = (8 - buffers[2].to(ScalarType.Float32)).mul_(scale);
            var scalesAndZeros = stack(new[] { scale, zero }, -1).transpose(0, 1).contiguous().to(dtype);
            _int4Packed = packed.DetachFromDisposeScope();
            _int4ScalesAndZeros = scalesAndZeros.DetachFromDisposeScope();
        }

        /// <summary>
        /// The bf16 prefill path: x·Wᵀ with W rebuilt a tile of rows at a time in registers (<see cref="Bf16TileDequantizer"/>) into
        /// one reused bf16 tile of about 2^23 elements, each tile multiplied by libtorch's bf16 GEMM straight into its columns of the
        /// one output (<c>addmm_</c> with β = 0 writes a strided slice in place, no per-tile output and copy).
        /// Int4 and NF4 tiles hold <see cref="Dequantize"/>'s bf16 values and a bias starts the output, so the GEMM adds it before
        /// its one rounding to bf16, as <c>linear</c> does: the output is <c>linear(x, Dequantize(), bias)</c>'s up to the GEMM's
        /// summation order. Int8 tiles hold the codes themselves (exact in bf16) and the per-row scale and the bias are applied to the
        /// output afterwards in one pass (<see cref="Bf16TileDequantizer.ScaleOutput"/>, fp32 scale, one fused multiply-add): no
        /// weight is rounded, the GEMM's sum is rounded to bf16 once more than <c>linear</c>'s (docs/quantization.md, "Prefill").
        /// The transient is the tile, at most the whole dequantized weight the memory model counts (QuantizedProjections).
        /// </summary>
        private Tensor Bf16TiledLinear(Tensor rows, Tensor[] buffers, Tensor? bias)
        {
            long tile = Math.Min(out_features, Math.Max(1, PrefillTileElements / in_features));
            using var weight = PrefillTileOf(tile * in_features, rows.device).narrow(0, 0, tile * in_features).view(tile, in_features);
            var y = empty(new[] { rows.shape[0], out_features }, ScalarType.BFloat16, rows.device);
            bool scaleAfter = Kind == QuantKind.Int8;
            if (bias is not null && !scaleAfter)
                y.copy_(bias); // a copy, never a view: addmm_ writes into it (one row of expand(...).contiguous() would alias the bias)
            float beta = bias is null || scaleAfter ? 0 : 1;
            for (long start = 0; start < out_features; start += tile)
            {
                long count = Math.Min(tile, out_features - start);
                using var view = weight.narrow(0, 0, count);
                switch (Kind)
                {
                    case QuantKind.Int8:
                        Bf16TileDequantizer.Int8(buffers[0], start, count, view);
                        break;
                    case QuantKind.Int4:
                        Bf16TileDequantizer.Int4(buffers[0], buffers[1], buffers[2], GroupSize, start, count, view);
                        break;
                    default:
                        Bf16TileDequantizer.NF4(buffers[0], buffers[1..], GroupSize, start, count, view);
                        break;
                }
                using var columns = y.narrow(1, start, count);
                using var viewT = view.t();
                columns.addmm_(rows, viewT, beta, 1);
            }
            if (scaleAfter)
                Bf16TileDequantizer.ScaleOutput(y, buffers[1], bias);
            return y;
        }

        /// <summary>x·Wᵀ with W dequantized a tile of rows at a time: the transient is one tile, never the whole weight.</summary>
        private Tensor TiledLinear(Tensor rows, Tensor[] buffers)
        {
            var (format, tileBuffers, align) = _format.PrepareRowTiles(buffers);
            using var owned = new DisposeList(tileBuffers, buffers);
            long tile = Math.Max(align, TileElements / in_features / align * align);
            if (tile >= out_features)
            {
                using var weight = _format.Dequantize(buffers, rows.dtype);
                return nn.functional.linear(rows, weight);
            }

            var y = empty(new[] { rows.shape[0], out_features }, rows.dtype, rows.device);
            for (long start = 0; start < out_features; start += tile)
            {
                long count = Math.Min(tile, out_features - start);
                using var scope = NewDisposeScope();
                var (slice, sliceBuffers) = format.SliceRows(tileBuffers, start, count);
                var weight = slice.Dequantize(sliceBuffers, rows.dtype);
                y.narrow(1, start, count).copy_(nn.functional.linear(rows, weight));
            }

            return y;
        }

        /// <summary>Disposes the tensors of one list that are not in another (prepared tile buffers that are not the layer's own).</summary>
        private readonly struct DisposeList : IDisposable
        {
            private readonly IReadOnlyList<Tensor> _tensors;
            private readonly IReadOnlyList<Tensor> _keep;

            public DisposeList(IReadOnlyList<Tensor> tensors, IReadOnlyList<Tensor> keep)
            {
                _tensors = tensors;
                _keep = keep;
            }

            public void Dispose()
            {
                foreach (var t in _tensors)
                    if (Array.IndexOf((Tensor[])_keep, t) < 0)
                        t.Dispose();
            }
        }
    }
}
