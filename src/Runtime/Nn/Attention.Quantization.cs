using System;
using ModelGen.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    // [Quantize] on an Attention block (issue 13): the four projections become QuantizedLinear. Kept apart from the block's math.
    public sealed partial class Attention
    {
        /// <summary>The quantization of the four projections, or null when they are dense <c>Linear</c> layers.</summary>
        public ProjectionQuantization? Quantization { get; }

        /// <summary>Compute dtype of the projections (a Linear's weight dtype, a QuantizedLinear's compute dtype): what a KV cache stores.</summary>
        public ScalarType ProjectionDtype => Compute ?? ProjectionQuantization.DtypeOf(_qProj);

        /// <summary>Device of the projections' tensors.</summary>
        public Device ProjectionDevice => _qProj is AutocastLinear autocast ? autocast.weight.device : ProjectionQuantization.DeviceOf(_qProj);

        /// <summary>A projection by its state_dict name, whatever its type (<c>Linear</c>, or <c>QuantizedLinear</c> with <see cref="Quantization"/>).</summary>
        /// <param name="name"><c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c> or <c>o_proj</c>.</param>
        /// <exception cref="ArgumentException">Another name.</exception>
        public nn.Module<Tensor, Tensor> Projection(string name) => name switch
        {
            "q_proj" => _qProj,
            "k_proj" => _kProj,
            "v_proj" => _vProj,
            "o_proj" => _oProj,
            _ => throw new ArgumentException($"Attention has projections q_proj, k_proj, v_proj and o_proj, not '{name}'.", nameof(name)),
        };

        private nn.Module<Tensor, Tensor> CreateProjection(string name, long inFeatures, long outFeatures, bool bias, ScalarType? dtype, Device? device) =>
            Compute is { } compute
                ? new AutocastLinear(inFeatures, outFeatures, bias, compute, dtype ?? get_default_dtype(), device)
                : ProjectionQuantization.Create(Quantization, name, inFeatures, outFeatures, bias, dtype, device);

        private static Linear Dense(nn.Module<Tensor, Tensor> projection, string name) => projection is AutocastLinear
            ? throw new InvalidOperationException($"Attention.{name} is an AutocastLinear (the block computes under mixed precision); use Attention.Projection(\"{name}\") for the module.")
            : ProjectionQuantization.Dense(projection, nameof(Attention), name);
    }
}
