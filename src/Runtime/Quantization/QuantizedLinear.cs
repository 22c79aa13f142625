using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Quantization
{
    /// <summary>
    /// A Linear layer whose weight is stored quantized (int8 per output channel, int4 group-wise, or NF4 block-wise with
    /// optional double quantization): training dequantizes it on the fly in each forward and backward, inference uses packed
    /// kernels or row tiles (see remarks). The quantized weight lives in registered
    /// buffers (saved and loaded by <c>state_dict</c>, frozen, never trainable); the bias stays a trainable parameter.
    /// Layouts and exact byte counts: <see cref="QuantLayout"/>.
    /// </summary>
    /// <remarks>
    /// Forward and backward each rebuild the full-precision weight as a temporary and free it before returning, so a trained
    /// network with quantized layers holds only one dequantized weight at a time (its largest), never one per layer.
    /// The input is cast to the compute dtype, and the output has it. Inference on the CPU (no gradient needed) calls libtorch's
    /// packed kernels for Int8 and Int4 at few tokens, and dequantizes row tiles of the weight otherwise (see
    /// docs/quantization.md).
    /// </remarks>
    public sealed partial class QuantizedLinear : nn.Module<Tensor, Tensor>
    {
        private readonly WeightFormat _format;
        private Parameter? _bias;

        /// <summary>Creates the layer with weights drawn as <c>nn.Linear</c> draws them (Kaiming uniform, a = √5), then quantized.</summary>
        /// <param name="inFeatures">Input size (columns of the weight).</param>
        /// <param name="outFeatures">Output size (rows of the weight).</param>
        /// <param name="hasBias">Whether the layer adds a trainable bias.</param>
        /// <param name="kind">Int8, Int4 or NF4; <see cref="QuantKind.None"/> is rejected.</param>
        /// <param name="groupSize">Int4 group (32, 64, 128; 0 = 128) or NF4 block (32, 64, 128, 256; 0 = 64); 0 for Int8.</param>
        /// <param name="doubleQuant">NF4 only: quantize the block absmax values again to 8 bits.</param>
        /// <param name="computeDtype">Dtype of the dequantized weight, the bias and the output (float32, bfloat16 or float16);
        /// inputs of another dtype are cast to it.</param>
        /// <param name="device">Device of buffers and bias; null = the default device.</param>
        /// <exception cref="ArgumentException">An invalid size, kind, group size or compute dtype; the message names the values.</exception>
        public QuantizedLinear(long inFeatures, long outFeatures, bool hasBias, QuantKind kind, int groupSize = 0, bool doubleQuant = false,
            ScalarType computeDtype = ScalarType.Float32, Device? device = null)
            : base(nameof(QuantizedLinear))
        {
            int group = QuantLayout.ResolveGroupSize(kind, groupSize, doubleQuant, inFeatures, outFeatures);
            CheckComputeDtype(computeDtype, nameof(computeDtype));

            in_features = inFeatures;
            out_features = outFeatures;
            Kind = kind;
            DoubleQuant = doubleQuant;
            ComputeDtype = computeDtype;
            _format = WeightFormat.Create(kind, inFeatures, outFeatures, group, doubleQuant);
            device ??= get_default_device();

            foreach (var spec in _format.Buffers)
                register_buffer(spec.Name, zeros(spec.Shape, spec.DType, device));

            using (var weight = empty(outFeatures, inFeatures, ScalarType.Float32, device))
            {
                nn.init.kaiming_uniform_(weight, Math.Sqrt(5));
                QuantizeFrom(weight);
            }

            if (hasBias)
            {
                // nn.Linear's bias initialisation: U(-1/√in, 1/√in).
                double bound = 1 / Math.Sqrt(inFeatures);
                var b = empty(new[] { outFeatures }, computeDtype, device);
                nn.init.uniform_(b, -bound, bound);
                _bias = new Parameter(b, requires_grad: true);
                register_parameter("bias", _bias);
            }
        }

        /// <summary>Input size.</summary>
        public long in_features { get; }

        /// <summary>Output size.</summary>
        public long out_features { get; }

        /// <summary>The quantization format.</summary>
        public QuantKind Kind { get; }

        /// <summary>Elements sharing one scale: the Int4 group or NF4 block size in use, or the input size for Int8 (one scale per row).</summary>
        public int GroupSize => _format.GroupSize;

        /// <summary>Whether NF4 absmax values are themselves quantized (QLoRA double quantization).</summary>
        public bool DoubleQuant { get; }

        /// <summary>Dtype of the dequantized weight, the bias and the output; <c>.to(dtype)</c> on the module changes it.</summary>
        public ScalarType ComputeDtype { get; private set; }

        /// <summary>The trainable bias, or null.</summary>
        public Parameter? bias => _bias;

        /// <summary>
        /// Bytes the quantized weight actually holds: every registered weight buffer (codes, scales, zero points, absmax
        /// constants), counted from the tensors themselves. Equals <see cref="QuantLayout.WeightBytes"/> for this layer.
        /// The bias is not included: it is an ordinary trainable parameter (out·element size of <see cref="ComputeDtype"/>).
        /// </summary>
        public long StoredBytes => QuantizedBuffers().Sum(t => t.numel() * t.ElementSize);

        /// <summary><see cref="StoredBytes"/> / (in·out): the bytes per weight element this layer really stores.</summary>
        public double StoredBytesPerParameter => (double)StoredBytes / ((double)in_features * out_features);

        /// <summary>The names of the quantized-weight buffers in this layer's <c>state_dict</c>, in storage order.</summary>
        public IReadOnlyList<string> QuantizedBufferNames => _format.Buffers.Select(b => b.Name).ToArray();

        /// <summary>Stored bytes per weight element of a format: the same figure as <see cref="QuantLayout.BytesPerParameter"/>.</summary>
        /// <param name="kind">Int8, Int4 or NF4.</param>
        /// <param name="groupSize">Int4 group or NF4 block size; 0 = the kind's default.</param>
        /// <param name="doubleQuant">NF4 only: double quantization.</param>
        public static double BytesPerParameter(QuantKind kind, int groupSize, bool doubleQuant) =>
            QuantLayout.BytesPerParameter(kind, groupSize, doubleQuant);

        /// <summary>Quantizes a Linear's weight (and copies its bias) into a new quantized layer on the Linear's device.</summary>
        /// <param name="linear">The source layer; left unchanged.</param>
        /// <param name="kind">Int8, Int4 or NF4.</param>
        /// <param name="groupSize">Group or block size; 0 = the kind's default.</param>
        /// <param name="doubleQuant">NF4 only: double quantization.</param>
        /// <param name="computeDtype">Compute dtype; null = the Linear's weight dtype.</param>
        /// <exception cref="ArgumentException">An invalid layout for the Linear's sizes, or a non-floating compute dtype.</exception>
        public static QuantizedLinear FromLinear(Linear linear, QuantKind kind, int groupSize = 0, bool doubleQuant = false, ScalarType? computeDtype = null)
        {
            ArgumentNullException.ThrowIfNull(linear);
            var layer = new QuantizedLinear(linear.in_features, linear.out_features, linear.bias is not null, kind, groupSize, doubleQuant,
                computeDtype ?? linear.weight.dtype, linear.weight.device);
            layer.QuantizeFrom(linear.weight, linear.bias);
            return layer;
        }

        /// <summary>
        /// Replaces the stored weight by the quantization of <paramref name="weight"/> (any floating dtype, [out, in], e.g. from a
        /// full-precision state_dict) and, when given, the bias by <paramref name="bias"/>.
        /// </summary>
        /// <exception cref="ArgumentException">Wrong shape or a non-floating dtype; a bias for a layer without one.</exception>
        public void QuantizeFrom(Tensor weight, Tensor? bias = null)
        {
            ArgumentNullException.ThrowIfNull(weight);
            if (!is_floating_point(weight.dtype))
                throw new ArgumentException($"Only a floating-point weight can be quantized, got {weight.dtype}.", nameof(weight));
            if (weight.dim() != 2 || weight.shape[0] != out_features || weight.shape[1] != in_features)
                throw new ArgumentException($"Expected a weight of shape [{out_features}, {in_features}] ([out, in]), got [{string.Join(", ", weight.shape)}].", nameof(weight));
            if (bias is not null && _bias is null)
                throw new ArgumentException("This quantized Linear was created without a bias, but a bias was given.", nameof(bias));
            if (bias is not null && (bias.dim() != 1 || bias.shape[0] != out_features))
                throw new ArgumentException($"Expected a bias of shape [{out_features}], got [{string.Join(", ", bias.shape)}].", nameof(bias));

            using var noGrad = no_grad();
            var target = QuantizedBuffers();
            if (DoubleQuant)
            {
                // The second quantization level spans every block of the weight, so it is quantized in one piece.
                using var scope = NewDisposeScope();
                var source = weight.detach().to(ScalarType.Float32, target[0].device).contiguous();
                var quantized = _format.Quantize(source);
                for (int i = 0; i < target.Count; i++)
                    target[i].copy_(quantized[i]);
            }
            else
            {
                // Row tiles: the fp32 copy and the quantizer's temporaries stay a tile's size (quantize-on-load of a large
                // checkpoint weight holds the weight as stored plus one tile, not several fp32 copies of it).
                var (_, _, align) = _format.PrepareRowTiles(target);
                long tile = Math.Max(align, TileElements / in_features / align * align);
                for (long start = 0; start < out_features; start += tile)
                {
                    using var scope = NewDisposeScope();
                    long count = Math.Min(tile, out_features - start);
                    var (slice, views) = _format.SliceRows(target, start, count);
                    var source = weight.detach().narrow(0, start, count).to(ScalarType.Float32, target[0].device).contiguous();
                    var quantized = slice.Quantize(source);
                    for (int i = 0; i < views.Length; i++)
                        views[i].copy_(quantized[i]);
                }
            }

            ReleasePackedWeight();
            if (bias is not null)
                _bias!.copy_(bias.detach());
        }

        /// <summary>The full [out, in] weight rebuilt from the stored form, in the compute dtype; the caller owns (and disposes) it.</summary>
        public Tensor Dequantize()
        {
            using var noGrad = no_grad();
            return _format.Dequantize(QuantizedBuffers(), ComputeDtype);
        }

        /// <summary>y = x·Wᵀ + b with W dequantized for this call only.</summary>
        /// <exception cref="ArgumentException">The last dimension is not <see cref="in_features"/>, or the input is not floating-point.</exception>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            BackwardFailures.ThrowIfAny();
            if (input.dim() == 0 || input.shape[^1] != in_features)
                throw new ArgumentException($"QuantizedLinear expects inputs with last dimension {in_features}, got shape [{string.Join(", ", input.shape)}].", nameof(input));
            if (!is_floating_point(input.dtype))
                throw new ArgumentException($"QuantizedLinear expects a floating-point input, got {input.dtype}.", nameof(input));

            using var scope = NewDisposeScope();
            var dtype = ComputeDtype;
            var x = input.dtype == dtype ? input : input.to(dtype);
            var b = _bias is null ? null : _bias.dtype == dtype ? _bias : _bias.to(dtype);
            var buffers = QuantizedBuffers().ToArray();

            Tensor output;
            if (is_grad_enabled() && (x.requires_grad || (b?.requires_grad ?? false)))
            {
                output = QuantizedLinearFunction.apply(x, b!, _format, buffers);
            }
            else
            {
                output = InferenceLinear(x, b, buffers);
            }

            return output.MoveToOuterDisposeScope();
        }

        // Moving keeps every buffer's dtype (a scale or absmax is part of the format, not a compute value); a dtype change
        // applies to the bias and becomes the compute dtype, as `.to(bfloat16)` on a model means "compute in bf16".

        /// <inheritdoc/>
        protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => MoveTo(device, dtype, non_blocking);

        /// <inheritdoc/>
        protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking) =>
            MoveTo(new Device(deviceType, deviceIndex), null, non_blocking);

        /// <inheritdoc/>
        protected override nn.Module _to(ScalarType dtype, bool non_blocking) => MoveTo(null, dtype, non_blocking);

        private QuantizedLinear MoveTo(Device? device, ScalarType? dtype, bool nonBlocking)
        {
            ReleasePackedWeight();
            if (dtype is { } d)
                CheckComputeDtype(d, nameof(dtype));
            if (device is not null && device.type != DeviceType.CUDA)
                device = new Device(device.type, -1);

            if (device is not null)
            {
                foreach (var spec in _format.Buffers)
                {
                    var old = get_buffer(spec.Name)!;
                    if (IsOn(old, device))
                        continue;
                    var moved = old.to(old.dtype, device, non_blocking: nonBlocking).DetachFromDisposeScope();
                    ConditionallyRegisterBuffer(spec.Name, moved);
                    old.Dispose();
                }

                _deviceType = device.type;
                _deviceIndex = device.index;
            }

            // Replace the bias only when it really changes: an optimizer may hold the current Parameter.
            if (_bias is not null && ((dtype is { } bd && bd != _bias.dtype) || (device is not null && !IsOn(_bias, device))))
            {
                var old = _bias;
                using (no_grad())
                {
                    var data = old.to(dtype ?? old.dtype, device ?? old.device, non_blocking: nonBlocking);
                    _bias = new Parameter(data, old.requires_grad);
                    _bias.DetachFromDisposeScope();
                    ConditionallyRegisterParameter("bias", _bias);
                }

                old.Dispose();
            }

            if (dtype is not null)
                ComputeDtype = dtype.Value;
            return this;
        }

        /// <summary>
        /// Quantizes the float weights of a plain Linear's state_dict (keys <c>{prefix}weight</c> and, when this layer has a
        /// bias, <c>{prefix}bias</c>), e.g. a checkpoint saved before quantization. Other keys are ignored.
        /// </summary>
        /// <param name="stateDict">A state_dict such as <c>linear.state_dict()</c> or a whole model's.</param>
        /// <param name="prefix">The layer's key prefix in <paramref name="stateDict"/>, e.g. <c>"blocks.0.mlp.up."</c>.</param>
        /// <exception cref="ArgumentException">A missing key, a wrong shape or a non-floating weight.</exception>
        public void LoadFloatWeights(IReadOnlyDictionary<string, Tensor> stateDict, string prefix = "")
        {
            ArgumentNullException.ThrowIfNull(stateDict);
            ArgumentNullException.ThrowIfNull(prefix);
            if (!stateDict.TryGetValue(prefix + "weight", out var weight))
                throw new ArgumentException($"The state_dict has no '{prefix}weight' to quantize.", nameof(stateDict));
            Tensor? bias = null;
            if (_bias is not null && !stateDict.TryGetValue(prefix + "bias", out bias))
                throw new ArgumentException($"This quantized Linear has a bias, but the state_dict has no '{prefix}bias'.", nameof(stateDict));
            QuantizeFrom(weight, bias);
        }

        private static void CheckComputeDtype(ScalarType dtype, string parameterName)
        {
            if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
                throw new ArgumentException($"The compute dtype of a quantized Linear must be float32, bfloat16, float16 or float64, got {dtype}.", parameterName);
        }

        private static bool IsOn(Tensor t, Device device) =>
            t.device_type == device.type && (device.type != DeviceType.CUDA || t.device_index == device.index);

        private List<Tensor> QuantizedBuffers() => _format.Buffers.Select(spec => get_buffer(spec.Name)!).ToList();
    }
}
