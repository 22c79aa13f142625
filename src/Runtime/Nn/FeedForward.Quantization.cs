using System;
using ModelGen.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    // [Quantize] on a FeedForward block (issue 13): the projections become QuantizedLinear. Kept apart from the block's math.
    public sealed partial class FeedForward
    {
        /// <summary>The quantization of the projections, or null when they are dense <c>Linear</c> layers.</summary>
        public ProjectionQuantization? Quantization { get; }

        /// <summary>A projection by its state_dict name, whatever its type (<c>Linear</c>, or <c>QuantizedLinear</c> with <see cref="Quantization"/>).</summary>
        /// <param name="name"><c>gate_proj</c> (SwiGLU only), <c>up_proj</c> or <c>down_proj</c>.</param>
        /// <exception cref="ArgumentException">Another name, or <c>gate_proj</c> of a block without a gate.</exception>
        public nn.Module<Tensor, Tensor> Projection(string name) => name switch
        {
            "gate_proj" when _gateProj is not null => _gateProj,
            "up_proj" => _upProj,
            "down_proj" => _downProj,
            _ => throw new ArgumentException(
                $"FeedForward ({Activation}) has projections {(_gateProj is null ? "" : "gate_proj, ")}up_proj and down_proj, not '{name}'.", nameof(name)),
        };

        private nn.Module<Tensor, Tensor> CreateProjection(string name, long inFeatures, long outFeatures, bool bias, ScalarType? dtype, Device? device) =>
            Compute is { } compute
                ? new AutocastLinear(inFeatures, outFeatures, bias, compute, dtype ?? get_default_dtype(), device)
                : ProjectionQuantization.Create(Quantization, name, inFeatures, outFeatures, bias, dtype, device);

        private static Linear Dense(nn.Module<Tensor, Tensor> projection, string name) => projection is AutocastLinear
            ? throw new InvalidOperationException($"FeedForward.{name} is an AutocastLinear (the block computes under mixed precision); use FeedForward.Projection(\"{name}\") for the module.")
            : ProjectionQuantization.Dense(projection, nameof(FeedForward), name);
    }
}
