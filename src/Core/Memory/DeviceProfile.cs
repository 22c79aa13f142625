using System;

namespace ModelGen.Memory
{
    /// <summary>The kind of device a scenario runs on.</summary>
    public enum DeviceKind
    {
        /// <summary>The host CPU: device memory is host RAM.</summary>
        Cpu = 0,

        /// <summary>An NVIDIA (or ROCm, through the same PyTorch allocator) GPU.</summary>
        Cuda = 1,
    }

    /// <summary>
    /// What a device adds to the tensors a model allocates: fixed overheads, an allocator margin, and how dropout stores its mask.
    /// Use <see cref="Cuda"/> or <see cref="Cpu"/>; the constants are named and documented so a diagnostic can cite them.
    /// </summary>
    public sealed class DeviceProfile
    {
        /// <summary>
        /// CUDA context plus libtorch's kernel images, loaded on first use: 300–600 MiB on current drivers with lazy module loading
        /// (PyTorch's default since CUDA 11.7); 512 MiB is the order of magnitude to plan for, not a measurement of a given card.
        /// </summary>
        public const long CudaContextBytes = 512 * Gigabytes.MegabyteBytes;

        /// <summary>
        /// cuBLAS workspace PyTorch reserves per handle: CUBLAS_WORKSPACE_CONFIG <c>:4096:8</c> (8 × 4 MiB) on Hopper,
        /// <c>:4096:2:16:8</c> (≈ 8 MiB) before; the larger is used. ModelGen's blocks have no convolutions, so no cuDNN
        /// workspace is reserved; fused attention allocates its workspace per call (counted in transients).
        /// </summary>
        public const long CublasWorkspaceBytes = 32 * Gigabytes.MegabyteBytes;

        /// <summary>
        /// Fraction added for the caching allocator's rounding and fragmentation (blocks rounded to 512 B, large ones carved
        /// from 2 MiB-aligned segments): an assumption of typical training loops, 5% of the tensor bytes.
        /// </summary>
        public const double CudaAllocatorMargin = 0.05;

        private DeviceProfile(string name, DeviceKind kind, long fixedOverheadBytes, double allocatorMargin, bool dropoutMaskIsBoolean)
        {
            Name = name;
            Kind = kind;
            FixedOverheadBytes = fixedOverheadBytes;
            AllocatorMargin = allocatorMargin;
            DropoutMaskIsBoolean = dropoutMaskIsBoolean;
        }

        /// <summary>A generic CUDA GPU: context and cuBLAS workspace, a 5% allocator margin, 1-byte dropout masks.</summary>
        public static DeviceProfile Cuda { get; } = new("CUDA GPU", DeviceKind.Cuda, CudaContextBytes + CublasWorkspaceBytes, CudaAllocatorMargin, dropoutMaskIsBoolean: true);

        /// <summary>
        /// The CPU: no CUDA context, no workspaces, no caching allocator (freed tensors return to malloc), and dropout
        /// keeps its scaled noise tensor in the input's dtype (libtorch's non-fused dropout computes <c>input * noise</c>).
        /// </summary>
        public static DeviceProfile Cpu { get; } = new("CPU", DeviceKind.Cpu, 0, 0, dropoutMaskIsBoolean: false);

        /// <summary>Display name.</summary>
        public string Name { get; }

        /// <summary>CPU or CUDA.</summary>
        public DeviceKind Kind { get; }

        /// <summary>Bytes the device uses before the first tensor: <see cref="CudaContextBytes"/> + <see cref="CublasWorkspaceBytes"/> on CUDA.</summary>
        public long FixedOverheadBytes { get; }

        /// <summary>Fraction of the tensor bytes added for allocator rounding and fragmentation.</summary>
        public double AllocatorMargin { get; }

        /// <summary>
        /// True when dropout saves a 1-byte boolean mask (CUDA's fused <c>native_dropout</c>); false when it saves its noise
        /// tensor in the input's dtype (the CPU path).
        /// </summary>
        public bool DropoutMaskIsBoolean { get; }

        /// <summary>The overhead term for a phase whose tensors total <paramref name="tensorBytes"/>.</summary>
        public long OverheadBytes(long tensorBytes) => FixedOverheadBytes + (long)Math.Ceiling(AllocatorMargin * tensorBytes);

        /// <inheritdoc />
        public override string ToString() => Name;
    }
}
