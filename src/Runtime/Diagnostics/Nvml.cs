using System;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelGen
{
    /// <summary>
    /// The few NVML calls the memory monitor needs, bound at run time with <see cref="NativeLibrary"/> so a machine without the
    /// NVIDIA driver loads this assembly fine and simply has no NVML. Signatures from NVIDIA's <c>nvml.h</c> (NVML API reference,
    /// "Initialization and Cleanup", "Device Queries"): every call returns an <c>nvmlReturn_t</c>, 0 on success.
    /// </summary>
    internal sealed class Nvml : IDisposable
    {
        /// <summary>The library the NVIDIA driver installs on Linux.</summary>
        public const string DefaultLibrary = "libnvidia-ml.so.1";

        private const int Success = 0;
        private const int NameLength = 96; // NVML_DEVICE_NAME_V2_BUFFER_SIZE

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int NoArguments();
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetCount(out uint count);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetHandle(uint index, out IntPtr device);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetMemory(IntPtr device, out NvmlMemory memory);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int GetName(IntPtr device, [Out] byte[] name, uint length);
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate IntPtr ErrorString(int result);

        /// <summary><c>nvmlMemory_t</c>: total, free and used bytes of a device's frame buffer.</summary>
        [StructLayout(LayoutKind.Sequential)]
        private struct NvmlMemory
        {
            public ulong Total;
            public ulong Free;
            public ulong Used;
        }

        private readonly IntPtr _library;
        private readonly NoArguments _shutdown;
        private readonly GetCount _getCount;
        private readonly GetHandle _getHandle;
        private readonly GetMemory _getMemory;
        private readonly GetName? _getName;
        private readonly ErrorString? _errorString;
        private bool _disposed;

        private Nvml(IntPtr library, NoArguments shutdown, GetCount getCount, GetHandle getHandle, GetMemory getMemory, GetName? getName, ErrorString? errorString)
        {
            _library = library;
            _shutdown = shutdown;
            _getCount = getCount;
            _getHandle = getHandle;
            _getMemory = getMemory;
            _getName = getName;
            _errorString = errorString;
        }

        /// <summary>Loads and initializes NVML from <paramref name="library"/>; null with the reason when it cannot.</summary>
        public static Nvml? TryOpen(string library, out string? reason)
        {
            if (!NativeLibrary.TryLoad(library, out var handle))
            {
                reason = $"{library} could not be loaded (no NVIDIA driver on this machine?)";
                return null;
            }
            try
            {
                var init = Export<NoArguments>(handle, "nvmlInit_v2");
                var shutdown = Export<NoArguments>(handle, "nvmlShutdown");
                var getCount = Export<GetCount>(handle, "nvmlDeviceGetCount_v2");
                var getHandle = Export<GetHandle>(handle, "nvmlDeviceGetHandleByIndex_v2");
                var getMemory = Export<GetMemory>(handle, "nvmlDeviceGetMemoryInfo");
                if (init is null || shutdown is null || getCount is null || getHandle is null || getMemory is null)
                {
                    NativeLibrary.Free(handle);
                    reason = $"{library} lacks one of nvmlInit_v2, nvmlShutdown, nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2, nvmlDeviceGetMemoryInfo";
                    return null;
                }
                var nvml = new Nvml(handle, shutdown, getCount, getHandle, getMemory, Export<GetName>(handle, "nvmlDeviceGetName"), Export<ErrorString>(handle, "nvmlErrorString"));
                var result = init();
                if (result != Success)
                {
                    reason = $"nvmlInit_v2 failed: {nvml.Describe(result)}"; // before Free: the text lives in the library
                    NativeLibrary.Free(handle);
                    return null;
                }
                reason = null;
                return nvml;
            }
            catch (Exception e) when (e is MarshalDirectiveException or ArgumentException)
            {
                NativeLibrary.Free(handle);
                reason = $"{library} could not be bound: {e.Message}";
                return null;
            }
        }

        /// <summary>Devices NVML sees.</summary>
        /// <exception cref="InvalidOperationException">NVML reports an error.</exception>
        public int DeviceCount()
        {
            Check(_getCount(out var count), "nvmlDeviceGetCount_v2");
            return checked((int)count);
        }

        /// <summary>Used and total frame-buffer bytes of device <paramref name="index"/>, and its name when NVML gives one.</summary>
        /// <exception cref="InvalidOperationException">NVML reports an error.</exception>
        public (long Used, long Total, string Name) Memory(int index)
        {
            Check(_getHandle((uint)index, out var device), "nvmlDeviceGetHandleByIndex_v2");
            Check(_getMemory(device, out var memory), "nvmlDeviceGetMemoryInfo");
            var name = $"GPU {index}";
            if (_getName is not null)
            {
                var buffer = new byte[NameLength];
                if (_getName(device, buffer, NameLength) == Success)
                {
                    var end = Array.IndexOf(buffer, (byte)0);
                    name = Encoding.UTF8.GetString(buffer, 0, end < 0 ? buffer.Length : end);
                }
            }
            return (checked((long)memory.Used), checked((long)memory.Total), name);
        }

        /// <summary>Shuts NVML down and unloads the library.</summary>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            _shutdown();
            NativeLibrary.Free(_library);
        }

        private void Check(int result, string call)
        {
            if (result != Success)
                throw new InvalidOperationException($"{call} failed: {Describe(result)}");
        }

        private string Describe(int result)
        {
            var text = _errorString is null ? IntPtr.Zero : _errorString(result);
            return text == IntPtr.Zero ? $"NVML error {result}" : $"{Marshal.PtrToStringUTF8(text)} (NVML error {result})";
        }

        private static T? Export<T>(IntPtr library, string name) where T : Delegate =>
            NativeLibrary.TryGetExport(library, name, out var address) ? Marshal.GetDelegateForFunctionPointer<T>(address) : null;
    }
}
