using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// Weight-only quantization of the projections inside a block (<c>q_proj</c> … <c>o_proj</c> of an Attention,
    /// <c>gate_proj</c>/<c>up_proj</c>/<c>down_proj</c> of a FeedForward): <c>[Quantize]</c> on such a block, as the generator
    /// passes it. Every projection becomes a <see cref="QuantizedLinear"/> of this format, so LoRA adapters attach to them as to
    /// any QuantizedLinear (QLoRA on attention and MLP).
    /// </summary>
    /// <param name="Kind">Int8, Int4 or NF4; <see cref="QuantKind.None"/> is rejected.</param>
    /// <param name="GroupSize">Int4 group (32, 64, 128; 0 = 128) or NF4 block (32, 64, 128, 256; 0 = 64); 0 for Int8.</param>
    /// <param name="DoubleQuant">NF4 only: quantize the block absmax values again to 8 bits.</param>
    public sealed record ProjectionQuantization(QuantKind Kind, int GroupSize = 0, bool DoubleQuant = false)
    {
        /// <summary>
        /// One projection: a plain <c>Linear</c> when <paramref name="quantization"/> is null, else a <see cref="QuantizedLinear"/>
        /// computing in <paramref name="dtype"/> (the default dtype when null).
        /// </summary>
        /// <exception cref="ArgumentException">The format does not fit the sizes (e.g. a group size that does not divide <paramref name="inFeatures"/>); the message names the projection.</exception>
        internal static nn.Module<Tensor, Tensor> Create(ProjectionQuantization? quantization, string name, long inFeatures, long outFeatures, bool bias,
            ScalarType? dtype, Device? device)
        {
            if (quantization is null)
                return nn.Linear(inFeatures, outFeatures, hasBias: bias, device: device, dtype: dtype);
            if (quantization.Kind == QuantKind.None)
                throw new ArgumentException($"Projection '{name}': QuantKind.None is not a quantization format; pass null for dense projections.", nameof(quantization));
            try
            {
                return new QuantizedLinear(inFeatures, outFeatures, bias, quantization.Kind, quantization.GroupSize, quantization.DoubleQuant,
                    dtype ?? get_default_dtype(), device);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Projection '{name}' ({inFeatures} → {outFeatures}) cannot be quantized as {quantization}: {e.Message}", nameof(quantization), e);
            }
        }

        /// <summary>The projection as a plain Linear, or a clear error when the block quantized it.</summary>
        internal static Linear Dense(nn.Module<Tensor, Tensor> projection, string block, string name) =>
            projection as Linear ?? throw new InvalidOperationException(
                $"{block}.{name} is a {projection.GetType().Name} (the block was built with [Quantize]); use {block}.Projection(\"{name}\") for the module.");

        /// <summary>Compute dtype of a projection: the Linear's weight dtype or the QuantizedLinear's compute dtype.</summary>
        internal static ScalarType DtypeOf(nn.Module<Tensor, Tensor> projection) => projection switch
        {
            Linear l => l.weight!.dtype,
            QuantizedLinear q => q.ComputeDtype,
            _ => throw new InvalidOperationException($"Unexpected projection type {projection.GetType().Name}."),
        };

        /// <summary>Device of a projection's tensors.</summary>
        internal static Device DeviceOf(nn.Module<Tensor, Tensor> projection) => projection switch
        {
            Linear l => l.weight!.device,
            QuantizedLinear q => q.buffers().First().device,
            _ => throw new InvalidOperationException($"Unexpected projection type {projection.GetType().Name}."),
        };
    }
}
