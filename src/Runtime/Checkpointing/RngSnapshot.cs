using System;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen
{
    /// <summary>
    /// The random state a checkpointed region started from, so the recompute in backward draws the same numbers
    /// (dropout masks) as the forward did.
    /// </summary>
    /// <remarks>
    /// The CPU generator's state is copied exactly. A CUDA generator's state cannot be read or set through TorchSharp
    /// (only <c>torch.cuda.manual_seed</c>/<c>manual_seed_all</c> exist), so for a CUDA region a seed is drawn from the
    /// region's device, every CUDA device is seeded with it before the body runs, and the same seed is applied again before
    /// the recompute. All devices are seeded because <c>manual_seed</c> reaches only the current device, which need not be the
    /// input's.
    /// </remarks>
    internal sealed class RngSnapshot
    {
        private readonly byte[] _cpuState;
        private readonly long? _cudaSeed;

        private RngSnapshot(byte[] cpuState, long? cudaSeed)
        {
            _cpuState = cpuState;
            _cudaSeed = cudaSeed;
        }

        /// <summary>
        /// Captures the CPU state and, for a CUDA region, draws and applies the region's seed. Call immediately before the
        /// forward runs the body.
        /// </summary>
        internal static RngSnapshot CaptureForForward(Device device)
        {
            var cpuState = ReadCpuState();
            if (device.type != DeviceType.CUDA)
                return new RngSnapshot(cpuState, null);
            var seed = DrawCudaSeed(device);
            cuda.manual_seed_all(seed);
            return new RngSnapshot(cpuState, seed);
        }

        /// <summary>
        /// Puts the generators back where the forward found them and returns a guard that, when disposed, restores the
        /// stream that was current before the recompute, so checkpointing leaves the rest of training's random numbers alone.
        /// </summary>
        internal IDisposable ReplayForRecompute(Device device)
        {
            var current = ReadCpuState();
            long? resumeSeed = _cudaSeed is null ? null : DrawCudaSeed(device);
            WriteCpuState(_cpuState);
            if (_cudaSeed is long seed)
                cuda.manual_seed_all(seed);
            return new Restore(current, resumeSeed);
        }

        private static byte[] ReadCpuState()
        {
            using var state = get_rng_state();
            return state.data<byte>().ToArray();
        }

        private static void WriteCpuState(byte[] bytes)
        {
            using var state = tensor(bytes, dtype: ScalarType.Byte);
            set_rng_state(state);
        }

        /// <summary>A seed drawn from the device's own generator, so it is reproducible under a fixed manual seed.</summary>
        private static long DrawCudaSeed(Device device)
        {
            using var draw = randint(long.MaxValue, [1], dtype: ScalarType.Int64, device: device);
            return draw.item<long>();
        }

        private sealed class Restore(byte[] cpuState, long? cudaSeed) : IDisposable
        {
            public void Dispose()
            {
                WriteCpuState(cpuState);
                if (cudaSeed is long seed)
                    cuda.manual_seed_all(seed);
            }
        }
    }
}
