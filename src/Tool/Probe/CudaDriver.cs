using System;
using System.Runtime.InteropServices;

namespace ModelGen.NvmlProbe
{
    /// <summary>
    /// The CUDA driver API calls the probe needs to put a known number of bytes on the device (CUDA Driver API reference:
    /// cuInit, cuDeviceGet, cuCtxCreate_v2, cuMemAlloc_v2, cuMemFree_v2, cuCtxDestroy_v2; every call returns CUresult, 0 on success).
    /// </summary>
    internal static class CudaDriver
    {
        private const string Library = "libcuda.so.1";

        [DllImport(Library)] private static extern int cuInit(uint flags);
        [DllImport(Library)] private static extern int cuDeviceGet(out int device, int ordinal);
        [DllImport(Library)] private static extern int cuCtxCreate_v2(out IntPtr context, uint flags, int device);
        [DllImport(Library)] private static extern int cuCtxDestroy_v2(IntPtr context);
        [DllImport(Library)] private static extern int cuMemAlloc_v2(out IntPtr pointer, nuint bytes);
        [DllImport(Library)] private static extern int cuMemFree_v2(IntPtr pointer);

        /// <summary>True when the driver library loads.</summary>
        public static bool Available() => NativeLibrary.TryLoad(Library, out _);

        public static IntPtr CreateContext(int ordinal)
        {
            Check(cuInit(0), "cuInit");
            Check(cuDeviceGet(out var device, ordinal), "cuDeviceGet");
            Check(cuCtxCreate_v2(out var context, 0, device), "cuCtxCreate_v2");
            return context;
        }

        public static IntPtr Allocate(long bytes)
        {
            Check(cuMemAlloc_v2(out var pointer, (nuint)bytes), "cuMemAlloc_v2");
            return pointer;
        }

        public static void Free(IntPtr pointer) => Check(cuMemFree_v2(pointer), "cuMemFree_v2");

        public static void DestroyContext(IntPtr context) => Check(cuCtxDestroy_v2(context), "cuCtxDestroy_v2");

        private static void Check(int result, string call)
        {
            if (result != 0)
                throw new InvalidOperationException($"{call} failed with CUresult {result}");
        }
    }
}
