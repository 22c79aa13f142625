using System;
using System.Linq;
using ModelGen.Quantization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Adapters
{
    /// <summary>
    /// One low-rank adapter on one frozen Linear or QuantizedLinear (Hu et al. 2021, "LoRA", eq. 3): the layer computes
    /// <c>h = W₀x + (alpha/r)·B·A·dropout(x)</c>, with A (<c>lora_A</c>, r × in) drawn as PEFT draws it (Kaiming uniform, a = √5)
    /// and B (<c>lora_B</c>, out × r) zero, so a new adapter leaves the layer's output unchanged. Only A and B train.
    /// </summary>
    /// <remarks>
    /// An adapter is created by <see cref="LoRA.Attach"/> (in place, on a layer the parent keeps calling) or by <see cref="LoraLinear"/>
    /// (a wrapper module). With a quantized base (QLoRA, Dettmers et al. 2023) the base weight stays quantized and frozen;
    /// <see cref="Merge"/> refuses it and <see cref="MergedWeight"/> gives the dense merged weight for export instead.
    /// </remarks>
    public sealed class LoraAdapter
    {
        private readonly ScalarType? _dtypeOverride;

        internal LoraAdapter(nn.Module<Tensor, Tensor> baseLayer, LoraOptions options)
        {
            ArgumentNullException.ThrowIfNull(baseLayer);
            ArgumentNullException.ThrowIfNull(options);
            options.ValidateAdapter();
            BaseLayer = baseLayer;
            (InFeatures, OutFeatures) = baseLayer switch
            {
                Linear l => (l.in_features, l.out_features),
                QuantizedLinear q => (q.in_features, q.out_features),
                _ => throw new ArgumentException(
                    $"LoRA adapts Linear and QuantizedLinear layers; got {baseLayer.GetType().Name}.", nameof(baseLayer)),
            };

            Rank = options.Rank;
            Alpha = options.Alpha;
            Dropout = options.Dropout;
            _dtypeOverride = options.AdapterDtype;
            var (device, dtype) = BasePlacement();

            // The base is frozen: gradients reach only A and B (and activations, so earlier adapters still learn).
            foreach (var p in baseLayer.parameters())
                p.requires_grad = false;

            lora_A = nn.Linear(InFeatures, Rank, hasBias: false, device: device, dtype: dtype);
            lora_B = nn.Linear(Rank, OutFeatures, hasBias: false, device: device, dtype: dtype);
            using (no_grad())
            {
                // PEFT's LoraLayer.reset_lora_parameters: A ~ kaiming_uniform(a = √5), B = 0.
                nn.init.kaiming_uniform_(lora_A.weight!, Math.Sqrt(5));
                lora_B.weight!.zero_();
            }
        }

        /// <summary>The frozen layer this adapter adds to.</summary>
        public nn.Module<Tensor, Tensor> BaseLayer { get; }

        /// <summary>A: in → r, no bias; its weight is r × in. Trainable.</summary>
        public Linear lora_A { get; }

        /// <summary>B: r → out, no bias; its weight is out × r, zero at creation. Trainable.</summary>
        public Linear lora_B { get; }

        /// <summary>Rank r.</summary>
        public int Rank { get; }

        /// <summary>lora_alpha.</summary>
        public double Alpha { get; }

        /// <summary>Drop probability on the adapter's input in training mode.</summary>
        public double Dropout { get; }

        /// <summary>alpha / r.</summary>
        public double Scaling => Alpha / Rank;

        /// <summary>Base input size.</summary>
        public long InFeatures { get; }

        /// <summary>Base output size.</summary>
        public long OutFeatures { get; }

        /// <summary>Whether the base is a QuantizedLinear (QLoRA).</summary>
        public bool IsQuantizedBase => BaseLayer is QuantizedLinear;

        /// <summary>Whether <c>(alpha/r)·B·A</c> is currently added into the base weight (then the forward skips the adapter path).</summary>
        public bool Merged { get; private set; }

        /// <summary>Trainable elements: <c>r·(in + out)</c>.</summary>
        public long ParameterCount => Rank * (InFeatures + OutFeatures);

        /// <summary>
        /// Moves A and B to the base's current device and, unless <see cref="LoraOptions.AdapterDtype"/> was set, to its compute dtype.
        /// Needed after <c>model.to(…)</c> for adapters attached in place, because TorchSharp's Linear and ModelGen's QuantizedLinear
        /// move only their own tensors, not children registered on them (<see cref="LoRA.MoveAdapters"/> does it for a whole model).
        /// A and B become new Parameter objects when they move: build the optimizer afterwards.
        /// </summary>
        public void AlignWithBase()
        {
            var (device, dtype) = BasePlacement();
            foreach (var part in new[] { lora_A, lora_B })
            {
                var weight = part.weight!;
                bool sameDevice = weight.device_type == device.type && (device.type != DeviceType.CUDA || weight.device_index == device.index);
                if (!sameDevice || weight.dtype != dtype)
                    part.to(device, dtype);
            }
        }

        /// <summary>Whether A and B sit on the device of <paramref name="input"/>.</summary>
        internal bool IsOnDeviceOf(Tensor input)
        {
            var weight = lora_A.weight!;
            return weight.device_type == input.device_type && (input.device_type != DeviceType.CUDA || weight.device_index == input.device_index);
        }

        /// <summary>
        /// The adapter's contribution <c>(alpha/r)·B(A(dropout(x)))</c> in the adapter dtype (the caller casts it). Dropout applies
        /// only when <paramref name="training"/>.
        /// </summary>
        public Tensor Delta(Tensor input, bool training)
        {
            ArgumentNullException.ThrowIfNull(input);
            using var scope = NewDisposeScope();
            var dtype = lora_A.weight!.dtype;
            var x = input.dtype == dtype ? input : input.to(dtype);
            if (Dropout > 0 && training)
                x = nn.functional.dropout(x, Dropout, training: true);
            return scope.MoveToOuter(lora_B.call(lora_A.call(x)).mul(Scaling));
        }

        /// <summary><c>baseOutput + Delta(input)</c> in the base output's dtype; what the layer returns while unmerged.</summary>
        public Tensor AddTo(Tensor baseOutput, Tensor input, bool training)
        {
            ArgumentNullException.ThrowIfNull(baseOutput);
            using var scope = NewDisposeScope();
            var delta = Delta(input, training);
            return scope.MoveToOuter(baseOutput + (delta.dtype == baseOutput.dtype ? delta : delta.to(baseOutput.dtype)));
        }

        /// <summary>The weight update <c>(alpha/r)·B·A</c> (out × in) in float32; the caller owns it.</summary>
        public Tensor DeltaWeight()
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var b = lora_B.weight!.to(ScalarType.Float32);
            var a = lora_A.weight!.to(ScalarType.Float32);
            return scope.MoveToOuter(b.matmul(a).mul_(Scaling));
        }

        /// <summary>
        /// The dense merged weight <c>W₀ + (alpha/r)·B·A</c> (out × in) in the base's compute dtype, the base left unchanged; for a
        /// quantized base W₀ is the dequantized weight, so this is the 16/32-bit weight a merged export holds. The caller owns it.
        /// </summary>
        public Tensor MergedWeight()
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            Tensor dense = BaseLayer switch
            {
                QuantizedLinear q => q.Dequantize(),
                Linear l => l.weight!,
                _ => throw new InvalidOperationException("Unreachable: the base type was checked at creation."),
            };
            if (Merged)
                return scope.MoveToOuter(dense.clone());
            // A fresh fp32 copy: an fp32 .to() would alias the base weight, and add_ would then change the base.
            var work = dense.dtype == ScalarType.Float32 ? dense.clone() : dense.to(ScalarType.Float32);
            var merged = work.add_(DeltaWeight()).to(dense.dtype);
            return scope.MoveToOuter(merged);
        }

        /// <summary>
        /// Adds <c>(alpha/r)·B·A</c> into a Linear base's weight (computed in fp32, stored in the weight's dtype), so the layer runs at
        /// base cost; the adapter path is then skipped. A second call does nothing.
        /// </summary>
        /// <exception cref="InvalidOperationException">The base is quantized: adding the update and quantizing again would round most
        /// of it away, and unmerging could not restore the base. Use <see cref="MergedWeight"/> or <see cref="LoRA.MergedStateDict"/>.</exception>
        public void Merge()
        {
            if (Merged)
                return;
            var linear = DenseBase("merge");
            using var noGrad = no_grad();
            using var delta = DeltaWeight();
            using var cast = delta.to(linear.weight!.dtype);
            linear.weight.add_(cast);
            Merged = true;
        }

        /// <summary>Subtracts the update again (the weight comes back up to rounding of its dtype); a call when unmerged does nothing.</summary>
        /// <exception cref="InvalidOperationException">The base is quantized (it can never be merged).</exception>
        public void Unmerge()
        {
            if (!Merged)
                return;
            var linear = DenseBase("unmerge");
            using var noGrad = no_grad();
            using var delta = DeltaWeight();
            using var cast = delta.to(linear.weight!.dtype);
            linear.weight.sub_(cast);
            Merged = false;
        }

        private (Device Device, ScalarType DType) BasePlacement() => BaseLayer switch
        {
            Linear l => (l.weight!.device, _dtypeOverride ?? l.weight.dtype),
            QuantizedLinear q => (q.buffers().First().device, _dtypeOverride ?? q.ComputeDtype),
            _ => throw new InvalidOperationException("Unreachable: the base type was checked at creation."),
        };

        private Linear DenseBase(string action) => BaseLayer as Linear ?? throw new InvalidOperationException(
            $"Cannot {action} a LoRA adapter into a quantized base ({((QuantizedLinear)BaseLayer).Kind}): re-quantizing W + (alpha/r)·B·A would " +
            "round most of the update away. Use MergedWeight() or LoRA.MergedStateDict(model) for a dense merged export.");
    }
}
