using System;
using System.Runtime.InteropServices;
using ModelGen.Distributed.Mpi;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>The address of a CPU tensor's first element, as MPI needs it.</summary>
    internal static class TensorMemory
    {
        private static readonly Lazy<DataFn> s_data = new(LoadData);

        /// <summary>
        /// The address of element 0 of <paramref name="tensor"/>, which must be a contiguous CPU tensor. TorchSharp's public
        /// accessors (<c>Tensor.bytes</c>) return a <see cref="Span{T}"/>, limited to 2 GiB and built per call, so the pointer
        /// comes from the same native export TorchSharp itself uses (THSTensor_data, which includes the storage offset).
        /// </summary>
        public static nint DataPointer(Tensor tensor)
        {
            if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
                throw new InvalidOperationException("Internal error: MPI buffers must be contiguous CPU tensors.");
            return tensor.numel() == 0 ? 0 : s_data.Value(tensor.Handle);
        }

        /// <summary>
        /// <see cref="DataPointer"/> for a tensor the caller has just checked (contiguous, on the CPU, not empty): the hot
        /// path of an all-reduce, where each check is a call into native code.
        /// </summary>
        public static nint CheckedDataPointer(Tensor tensor) => s_data.Value(tensor.Handle);

        /// <summary>Whether two non-empty tensors of one device start at the same address (a gradient that is still its bucket slot's view).</summary>
        public static bool SameFirstElement(Tensor a, Tensor b)
            => a.numel() > 0 && a.numel() == b.numel() && a.device_type == b.device_type && a.device_index == b.device_index
               && s_data.Value(a.Handle) == s_data.Value(b.Handle);

        private static DataFn LoadData()
        {
            if (!NativeLibrary.TryLoad("LibTorchSharp", typeof(torch).Assembly, null, out var library)
                || !NativeLibrary.TryGetExport(library, "THSTensor_data", out var address))
                throw new DllNotFoundException("TorchSharp's native library (LibTorchSharp) does not export THSTensor_data; ModelGen's collectives need TorchSharp 0.107.");
            return Marshal.GetDelegateForFunctionPointer<DataFn>(address);
        }

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate nint DataFn(nint tensor);
    }
}
