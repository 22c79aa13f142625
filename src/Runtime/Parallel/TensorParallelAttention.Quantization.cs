using System;
using ModelGen.Distributed;
using ModelGen.Nn;
using ModelGen.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    // [Shard] + [Quantize] on an Attention block, and its per-block sliding window: kept apart from the block's math.
    public sealed partial class TensorParallelAttention
    {
        private readonly long? _slidingWindow;

        /// <summary>
        /// The quantization of the four projections, or null when they are float <see cref="ColumnParallelLinear"/> /
        /// <see cref="RowParallelLinear"/> layers. Quantized, each projection is a <see cref="QuantizedParallelLinear"/> holding only this
        /// rank's slice, quantized on its own: q, k and v slices are whole rows (int8 rows, int4 groups and NF4 blocks of the unsharded
        /// layer); o_proj's slice is <c>hidden/t</c> input columns, so int8 keeps one scale per row and rank and a group or block size must
        /// divide <c>hidden/t</c> (MG0212). The weights are frozen; the biases stay trainable.
        /// </summary>
        public ProjectionQuantization? Quantization { get; }

        /// <summary>
        /// Sliding-window attention, as <see cref="Attention.SlidingWindow"/>: each query sees itself and the <c>SlidingWindow − 1</c>
        /// keys before it; null sees every earlier key. Heads do not change which keys a query sees, so every rank applies the same
        /// window to its heads. A windowed block runs the eager core in training (the fused kernels take no window); cached decoding
        /// masks with the smaller of this window and the cache's.
        /// </summary>
        /// <exception cref="ArgumentException">Set to a value below 1, or on a non-causal block.</exception>
        public long? SlidingWindow
        {
            get => _slidingWindow;
            init
            {
                if (value is < 1)
                    throw new ArgumentException($"TensorParallelAttention SlidingWindow must be at least 1, but it is {value}.", nameof(value));
                if (value is not null && !Causal)
                    throw new ArgumentException("TensorParallelAttention SlidingWindow needs causal attention: a window looks back from each query.", nameof(value));
                _slidingWindow = value;
            }
        }

        /// <summary>This rank's projection by its state_dict name: a float parallel linear, or a <see cref="QuantizedParallelLinear"/>.</summary>
        /// <param name="name"><c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c> or <c>o_proj</c>.</param>
        /// <exception cref="ArgumentException">Another name.</exception>
        public nn.Module<Tensor, Tensor> Projection(string name) => name switch
        {
            "q_proj" => q_proj,
            "k_proj" => k_proj,
            "v_proj" => v_proj,
            "o_proj" => o_proj,
            _ => throw new ArgumentException($"TensorParallelAttention has projections q_proj, k_proj, v_proj and o_proj, not '{name}'.", nameof(name)),
        };

        private nn.Module<Tensor, Tensor> Column(long inFeatures, long outFeatures, string name, bool bias, ShardSpec slice, ProcessGroup? replicas,
            ScalarType? dtype, Device? device) => Quantization is { } q
            ? new QuantizedParallelLinear(inFeatures, outFeatures, ParallelLinearStyle.Column, Options, name, bias, q, dtype ?? get_default_dtype(), false, device, slice, replicas)
            : new ColumnParallelLinear(inFeatures, outFeatures, Options, name, bias, false, slice, replicas, dtype, device);

        private nn.Module<Tensor, Tensor> Row(long inFeatures, long outFeatures, string name, bool bias, ScalarType? dtype, Device? device) => Quantization is { } q
            ? new QuantizedParallelLinear(inFeatures, outFeatures, ParallelLinearStyle.Row, Options, name, bias, q, dtype ?? get_default_dtype(), false, device,
                Shard.Even(1, inFeatures, Options.Rank, Options.Degree), null)
            : new RowParallelLinear(inFeatures, outFeatures, Options, name, bias, true, dtype, device);

        /// <summary>A column-parallel projection of an input already inside the region.</summary>
        internal static Tensor ProjectLocal(nn.Module<Tensor, Tensor> projection, Tensor x) => projection switch
        {
            ColumnParallelLinear c => c.ForwardLocal(x),
            QuantizedParallelLinear q => q.ForwardLocal(x),
            _ => throw new InvalidOperationException($"Unexpected column-parallel projection {projection.GetType().Name}."),
        };

        /// <summary>Compute dtype of a parallel projection: the float slice's dtype or the quantized shard's compute dtype.</summary>
        internal static ScalarType DtypeOf(nn.Module<Tensor, Tensor> projection) => projection switch
        {
            ColumnParallelLinear c => c.Weight.dtype,
            QuantizedParallelLinear q => q.Shard.ComputeDtype,
            _ => throw new InvalidOperationException($"Unexpected column-parallel projection {projection.GetType().Name}."),
        };

        /// <summary>Device of a parallel projection's tensors.</summary>
        internal static Device DeviceOf(nn.Module<Tensor, Tensor> projection) => projection switch
        {
            ColumnParallelLinear c => c.Weight.device,
            QuantizedParallelLinear q => ProjectionQuantization.DeviceOf(q.Shard),
            _ => throw new InvalidOperationException($"Unexpected column-parallel projection {projection.GetType().Name}."),
        };
    }
}
