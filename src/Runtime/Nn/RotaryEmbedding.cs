using System;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// Rotary position embedding (Su et al. 2021, "RoFormer", §3.4.2) in the rotate-half layout of Llama and Hugging Face
    /// transformers: feature <c>i</c> of the first half and feature <c>i + d/2</c> form the pair rotated by angle
    /// <c>position · theta^(−2i/d)</c>. Rotating queries and keys this way makes their dot product depend only on the
    /// distance between the two positions.
    /// </summary>
    /// <remarks>
    /// The cos/sin tables are computed in fp32 (as Hugging Face does, whatever the model dtype), cached for the longest length
    /// and the device last asked for, and cast to the input dtype when applied. They are derived data, not parameters or
    /// buffers: a module holding this object keeps them out of its state_dict, and they are rebuilt when the device changes.
    /// </remarks>
    public sealed class RotaryEmbedding : IDisposable
    {
        private Tensor? _cos;
        private Tensor? _sin;
        private Device? _cacheDevice;
        private long _cachedLength;

        /// <summary>Creates the embedding for heads of <paramref name="headDim"/> features.</summary>
        /// <param name="headDim">Features per head; must be even, since features are rotated in pairs.</param>
        /// <param name="theta">Base of the geometric frequency sequence (10000 in RoFormer and Llama 2, 500000 in Llama 3).</param>
        /// <exception cref="ArgumentException"><paramref name="headDim"/> is not positive and even, or <paramref name="theta"/> is not greater than 1.</exception>
        public RotaryEmbedding(long headDim, double theta = 10000)
        {
            if (headDim <= 0 || headDim % 2 != 0)
                throw new ArgumentException($"Rotary embedding rotates feature pairs, so the head size must be positive and even, but it is {headDim}.", nameof(headDim));
            if (!(theta > 1) || double.IsInfinity(theta))
                throw new ArgumentException($"Rotary base theta must be a finite number greater than 1, but it is {theta}.", nameof(theta));
            HeadDim = headDim;
            Theta = theta;
        }

        /// <summary>Features per head.</summary>
        public long HeadDim { get; }

        /// <summary>Base of the frequency sequence.</summary>
        public double Theta { get; }

        /// <summary>Rotates every position of <paramref name="x"/> by its angle.</summary>
        /// <param name="x">Queries or keys, <c>[..., seq, headDim]</c> (normally <c>[batch, heads, seq, headDim]</c>).</param>
        /// <param name="startPosition">Position of the first element along <c>seq</c> (non-zero when decoding after a prefix).</param>
        /// <returns>A new tensor of the same shape and dtype.</returns>
        /// <exception cref="ArgumentException">The last dimension is not <see cref="HeadDim"/>, or <paramref name="startPosition"/> is negative.</exception>
        public Tensor Apply(Tensor x, long startPosition = 0)
        {
            ArgumentNullException.ThrowIfNull(x);
            if (x.dim() < 2 || x.shape[^1] != HeadDim)
                throw new ArgumentException(
                    $"Rotary embedding expects [..., seq, {HeadDim}] but got [{string.Join(", ", x.shape)}].", nameof(x));
            if (startPosition < 0)
                throw new ArgumentException($"Start position must be non-negative, but it is {startPosition}.", nameof(startPosition));

            using var scope = torch.NewDisposeScope();
            var length = x.shape[^2];
            var (cos, sin) = Table(startPosition + length, x.device);
            cos = cos.narrow(0, startPosition, length).to(x.dtype);
            sin = sin.narrow(0, startPosition, length).to(x.dtype);

            var half = HeadDim / 2;
            var first = x.narrow(-1, 0, half);
            var second = x.narrow(-1, half, half);
            var rotatedHalf = torch.cat(new[] { -second, first }, -1);
            return scope.MoveToOuter(x * cos + rotatedHalf * sin);
        }

        /// <summary>Rotates each position of <paramref name="x"/> by the angle of its own position id (left-padded batches, where rows start at different positions).</summary>
        /// <param name="x">Queries or keys, <c>[batch, heads, seq, headDim]</c>.</param>
        /// <param name="positions">Position of each token, <c>[batch, seq]</c> integers ≥ 0.</param>
        /// <returns>A new tensor of the same shape and dtype.</returns>
        /// <exception cref="ArgumentException">Shapes that do not match, or a negative position.</exception>
        public Tensor Apply(Tensor x, Tensor positions)
        {
            ArgumentNullException.ThrowIfNull(x);
            ArgumentNullException.ThrowIfNull(positions);
            if (x.dim() != 4 || x.shape[^1] != HeadDim)
                throw new ArgumentException($"Rotary embedding with position ids expects [batch, heads, seq, {HeadDim}] but got [{string.Join(", ", x.shape)}].", nameof(x));
            if (positions.dim() != 2 || positions.shape[0] != x.shape[0] || positions.shape[1] != x.shape[2])
                throw new ArgumentException($"Position ids must be [{x.shape[0]}, {x.shape[2]}] (batch, seq), got [{string.Join(", ", positions.shape)}].", nameof(positions));

            using var scope = torch.NewDisposeScope();
            var ids = positions.to(ScalarType.Int64, x.device);
            if (ids.numel() == 0)
                return scope.MoveToOuter(x.clone());
            long min = ids.min().item<long>(), max = ids.max().item<long>();
            if (min < 0)
                throw new ArgumentException($"Position ids must be non-negative, but one is {min}.", nameof(positions));
            var (cosTable, sinTable) = Table(max + 1, x.device);
            long batch = x.shape[0], length = x.shape[2];
            var cos = cosTable.index_select(0, ids.reshape(-1)).view(batch, 1, length, HeadDim).to(x.dtype);
            var sin = sinTable.index_select(0, ids.reshape(-1)).view(batch, 1, length, HeadDim).to(x.dtype);
            var half = HeadDim / 2;
            var rotatedHalf = torch.cat(new[] { -x.narrow(-1, half, half), x.narrow(-1, 0, half) }, -1);
            return scope.MoveToOuter(x * cos + rotatedHalf * sin);
        }

        /// <summary>Releases the cached tables.</summary>
        public void Dispose()
        {
            _cos?.Dispose();
            _sin?.Dispose();
            _cos = null;
            _sin = null;
            _cacheDevice = null;
            _cachedLength = 0;
        }

        /// <summary>fp32 cos and sin tables, <c>[length', headDim]</c> with <c>length' ≥ length</c>, on <paramref name="device"/>.</summary>
        private (Tensor Cos, Tensor Sin) Table(long length, Device device)
        {
            if (_cos is not null && _sin is not null && _cachedLength >= length && SameDevice(_cacheDevice, device))
                return (_cos, _sin);

            Dispose();
            using (torch.no_grad())
            using (var scope = torch.NewDisposeScope())
            {
                // inv_freq_i = theta^(-2i/d), i = 0 … d/2-1 (RoFormer eq. 15).
                var exponents = torch.arange(0, HeadDim, 2, dtype: ScalarType.Float32, device: device) / HeadDim;
                var inverseFrequency = torch.tensor(Theta, ScalarType.Float32, device).pow(exponents).reciprocal();
                var positions = torch.arange(length, dtype: ScalarType.Float32, device: device);
                var angles = torch.outer(positions, inverseFrequency);
                var pairedAngles = torch.cat(new[] { angles, angles }, -1);
                _cos = pairedAngles.cos().DetachFromDisposeScope();
                _sin = pairedAngles.sin().DetachFromDisposeScope();
            }
            _cacheDevice = device;
            _cachedLength = length;
            return (_cos, _sin);
        }

        private static bool SameDevice(Device? cached, Device requested) =>
            cached is not null && cached.type == requested.type && cached.index == requested.index;
    }
}
