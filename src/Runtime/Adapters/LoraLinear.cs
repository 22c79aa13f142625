using System;
using ModelGen.Quantization;
using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Adapters
{
    /// <summary>
    /// A frozen Linear or QuantizedLinear (<c>base_layer</c>) plus a trainable low-rank adapter (<c>lora_A</c>, <c>lora_B</c>):
    /// <c>y = base(x) + (alpha/r)·B·A·dropout(x)</c> (Hu et al. 2021, eq. 3). With a QuantizedLinear base this is QLoRA
    /// (Dettmers et al. 2023): the base weight stays int8/int4/NF4 and is dequantized per call; A and B are in the compute dtype.
    /// State_dict names are PEFT's in-model names without the adapter name: <c>base_layer.weight</c> (or the quantized buffers),
    /// <c>lora_A.weight</c>, <c>lora_B.weight</c>.
    /// </summary>
    /// <remarks>
    /// Use this module where you build the layer yourself (or where the parent calls a slot you can replace). To add adapters to
    /// layers an existing module already holds in readonly fields (ModelGen's Attention and FeedForward, generated modules), use
    /// <see cref="LoRA.Attach"/> / <see cref="LoRA.Apply"/>, which work in place.
    /// </remarks>
    public sealed class LoraLinear : nn.Module<Tensor, Tensor>
    {
        [ComponentName(Name = "base_layer")]
        private readonly nn.Module<Tensor, Tensor> _baseLayer;
        [ComponentName(Name = "lora_A")]
        private readonly Linear _loraA;
        [ComponentName(Name = "lora_B")]
        private readonly Linear _loraB;

        // Not a Module or Tensor, so RegisterComponents leaves it out of the state_dict.
        private readonly LoraAdapter _adapter;

        /// <summary>Wraps <paramref name="baseLayer"/> (which becomes frozen) and creates its adapter (A Kaiming-uniform, B zero).</summary>
        /// <param name="baseLayer">A Linear or QuantizedLinear; its parameters get <c>requires_grad = false</c>.</param>
        /// <param name="options">Rank, alpha, dropout and adapter dtype; the targets are not used here.</param>
        /// <exception cref="ArgumentException">Another base type, or invalid options.</exception>
        public LoraLinear(nn.Module<Tensor, Tensor> baseLayer, LoraOptions options) : base(nameof(LoraLinear))
        {
            _adapter = new LoraAdapter(baseLayer, options);
            _baseLayer = baseLayer;
            _loraA = _adapter.lora_A;
            _loraB = _adapter.lora_B;
            RegisterComponents();
        }

        /// <summary>The frozen base layer.</summary>
        public nn.Module<Tensor, Tensor> base_layer => _baseLayer;

        /// <summary>The adapter: A, B, scaling, merge and unmerge.</summary>
        public LoraAdapter Adapter => _adapter;

        /// <summary>Input size.</summary>
        public long in_features => _adapter.InFeatures;

        /// <summary>Output size.</summary>
        public long out_features => _adapter.OutFeatures;

        /// <summary><c>base(x) + (alpha/r)·B·A·dropout(x)</c>, or <c>base(x)</c> alone while merged.</summary>
        public override Tensor forward(Tensor input)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (_adapter.Merged)
                return _baseLayer.call(input);
            using var scope = NewDisposeScope();
            var output = _adapter.AddTo(_baseLayer.call(input), input, training);
            return scope.MoveToOuter(output);
        }

        /// <summary>Merges the update into a Linear base (see <see cref="LoraAdapter.Merge"/>).</summary>
        /// <exception cref="InvalidOperationException">The base is quantized.</exception>
        public void Merge() => _adapter.Merge();

        /// <summary>Takes the update out of a merged Linear base again.</summary>
        /// <exception cref="InvalidOperationException">The base is quantized.</exception>
        public void Unmerge() => _adapter.Unmerge();

        /// <summary>
        /// A new plain Linear holding the merged weight <c>W₀ + (alpha/r)·B·A</c> and the base bias, in the base's compute dtype: the
        /// export form. For a quantized base the weight is dequantized first, so the export is dense (16- or 32-bit), never re-quantized.
        /// </summary>
        public Linear ToMergedLinear()
        {
            using var merged = _adapter.MergedWeight();
            Tensor? bias = _baseLayer switch
            {
                Linear l => l.bias,
                QuantizedLinear q => q.bias,
                _ => null,
            };
            var linear = nn.Linear(in_features, out_features, hasBias: bias is not null, device: merged.device, dtype: merged.dtype);
            using (no_grad())
            {
                linear.weight!.copy_(merged);
                if (bias is not null)
                    linear.bias!.copy_(bias);
            }

            return linear;
        }
    }
}
