using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Distributed
{
    /// <summary>What a collective needs to know about a tensor, read in one pass.</summary>
    /// <param name="Dtype">The element type.</param>
    /// <param name="ContiguousOnCpu">Whether MPI can use the tensor's memory directly.</param>
    /// <param name="Elements">The number of elements.</param>
    internal readonly record struct TensorFacts(ScalarType Dtype, bool ContiguousOnCpu, long Elements);

    /// <summary>
    /// Reads tensor metadata and the address of a CPU tensor's first element, as MPI needs them, straight from LibTorchSharp's
    /// exports. A small all-reduce is otherwise dominated by the binding: TorchSharp's accessors follow each native call with
    /// a second one that checks for a pending error (docs/distributed.md measures both).
    /// </summary>
    internal static unsafe class TensorMemory
    {
        private static readonly Exports s_exports = Exports.Load();

        /// <summary>Dtype, placement and element count of <paramref name="tensor"/>.</summary>
        public static TensorFacts Facts(Tensor tensor)
        {
            var handle = tensor.Handle;
            var dtype = (ScalarType)s_exports.Type(handle);
            var onCpu = s_exports.DeviceType(handle) == (int)DeviceType.CPU && s_exports.IsContiguous(handle) != 0;
            return new TensorFacts(dtype, onCpu, s_exports.Numel(handle));
        }

        /// <summary>
        /// The address of element 0 of <paramref name="tensor"/>, which must be a contiguous CPU tensor. TorchSharp's public
        /// accessors (<c>Tensor.bytes</c>) return a <see cref="Span{T}"/>, limited to 2 GiB and built per call, so the pointer
        /// comes from the same native export TorchSharp itself uses (THSTensor_data, which includes the storage offset).
        /// </summary>
        public static nint DataPointer(Tensor tensor)
        {
            var facts = Facts(tensor);
            if (!facts.ContiguousOnCpu)
                throw new InvalidOperationException("Internal error: MPI buffers must be contiguous CPU tensors.");
            return facts.Elements == 0 ? 0 : s_exports.Data(tensor.Handle);
        }

        /// <summary>
        /// <see cref="DataPointer"/> for a tensor the caller has just checked (contiguous, on the CPU, not empty): the hot
        /// path of an all-reduce.
        /// </summary>
        public static nint CheckedDataPointer(Tensor tensor) => s_exports.Data(tensor.Handle);

        /// <summary>Whether two non-empty tensors of one device start at the same address (a gradient that is still its bucket slot's view).</summary>
        public static bool SameFirstElement(Tensor a, Tensor b)
            => a.numel() > 0 && a.numel() == b.numel() && a.device_type == b.device_type && a.device_index == b.device_index
               && s_exports.Data(a.Handle) == s_exports.Data(b.Handle);

        /// <summary>
        /// The five LibTorchSharp exports, as unmanaged function pointers. Each only reads the tensor's metadata (no lock, no
        /// allocation, no callback into .NET), which is what <see cref="SuppressGCTransitionAttribute"/> requires.
        /// </summary>
        private readonly struct Exports
        {
            public readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, sbyte> Type;
            public readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, int> DeviceType;
            public readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, int> IsContiguous;
            public readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, long> Numel;
            public readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, nint> Data;

            private Exports(nint library)
            {
                Type = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, sbyte>)Export(library, "THSTensor_type");
                DeviceType = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, int>)Export(library, "THSTensor_device_type");
                IsContiguous = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, int>)Export(library, "THSTensor_is_contiguous");
                Numel = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, long>)Export(library, "THSTensor_numel");
                Data = (delegate* unmanaged[Cdecl, SuppressGCTransition]<nint, nint>)Export(library, "THSTensor_data");
            }

            public static Exports Load()
            {
                // Loading torch's own assembly first makes sure TorchSharp has loaded its native libraries.
                RuntimeHelpers.RunClassConstructor(typeof(torch).TypeHandle);
                if (!NativeLibrary.TryLoad("LibTorchSharp", typeof(torch).Assembly, null, out var library))
                    throw new DllNotFoundException("TorchSharp's native library (LibTorchSharp) could not be loaded; ModelGen's collectives need TorchSharp 0.107.");
                return new Exports(library);
            }

            private static nint Export(nint library, string name)
                => NativeLibrary.TryGetExport(library, name, out var address) ? address
                    : throw new EntryPointNotFoundException($"TorchSharp's native library (LibTorchSharp) does not export {name}; ModelGen's collectives need TorchSharp 0.107.");
        }
    }
}
