using System;
using ModelGen.Distributed.Mpi;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>How a tensor's elements travel through MPI: their MPI type, and the wider type some reductions go through.</summary>
    /// <param name="Type">The MPI type the elements are sent as.</param>
    /// <param name="Dtype">The tensor's dtype.</param>
    internal readonly record struct ElementTransport(MpiType Type, ScalarType Dtype)
    {
        /// <summary>The transport of <paramref name="dtype"/>, or a clear error for a dtype the collectives do not carry.</summary>
        public static ElementTransport Of(ScalarType dtype) => dtype switch
        {
            ScalarType.Float32 => new(MpiType.Float, dtype),
            ScalarType.Float64 => new(MpiType.Double, dtype),
            ScalarType.Float16 or ScalarType.BFloat16 => new(MpiType.UInt16, dtype),
            ScalarType.Int32 => new(MpiType.Int32, dtype),
            ScalarType.Int64 => new(MpiType.Int64, dtype),
            ScalarType.Byte => new(MpiType.UInt8, dtype),
            ScalarType.Int8 => new(MpiType.Int8, dtype),
            _ => throw new NotSupportedException(
                $"Collectives carry float32, float64, float16, bfloat16, int32, int64, uint8 and int8 tensors, not {dtype}; convert the tensor first."),
        };

        /// <summary>
        /// The dtype a reduction runs in when it cannot run in <see cref="Dtype"/> itself, or null.
        /// fp16 and bf16 reduce in fp32: MPI has no 16-bit floating-point type; the result is rounded once (docs/distributed.md).
        /// 8-bit integers reduce in int32, then wrap back modulo 2^8 (as torch's own 8-bit addition wraps), because the
        /// libraries disagree on 8-bit reductions: Open MPI's vectorized sum saturates where its scalar sum wraps, so a
        /// result depends on the length (open-mpi/ompi issue 8045, closed as won't fix), and MPICH 4.0.2 (Debian 12)
        /// takes the maximum and minimum of unsigned types as signed (pmodels/mpich issue 6083).
        /// </summary>
        public ScalarType? ReductionDtype(ReduceOp op) => Dtype switch
        {
            ScalarType.Float16 or ScalarType.BFloat16 => ScalarType.Float32,
            ScalarType.Byte or ScalarType.Int8 => ScalarType.Int32,
            _ => null,
        };

        /// <summary>Whether the dtype is an integer type, for which an average has no single meaning.</summary>
        public bool IsInteger => Dtype is ScalarType.Int32 or ScalarType.Int64 or ScalarType.Byte or ScalarType.Int8;

        /// <summary>Bytes per element of an MPI type (asked of no native code: this sits on the all-reduce's hot path).</summary>
        public static int SizeOf(MpiType type) => type switch
        {
            MpiType.Byte or MpiType.Int8 or MpiType.UInt8 => 1,
            MpiType.UInt16 => 2,
            MpiType.Int32 or MpiType.Float => 4,
            _ => 8,
        };

        /// <summary>The MPI type of a reduction dtype.</summary>
        public static MpiType TypeOf(ScalarType reductionDtype) => reductionDtype == ScalarType.Float32 ? MpiType.Float : MpiType.Int32;

        /// <summary>A widened result back in <see cref="Dtype"/>: rounded once for floats, modulo 2^8 for 8-bit integers (as torch's own 8-bit addition wraps).</summary>
        public Tensor Narrow(Tensor wide) => Dtype switch
        {
            ScalarType.Byte => wide.bitwise_and(255).to(ScalarType.Byte),
            ScalarType.Int8 => (wide + 128).bitwise_and(255).sub_(128).to(ScalarType.Int8),
            _ => wide.to(Dtype),
        };
    }
}
