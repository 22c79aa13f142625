using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Tool.Planning
{
    /// <summary>Applies the command line's model and scenario changes to copies of the specs (specs are values: nothing is mutated).</summary>
    internal static class ModelOverrides
    {
        /// <summary>Int4 group size, as the design's example and the int4 kernels use.</summary>
        public const int Int4GroupSize = 128;

        /// <summary>NF4 block size (QLoRA's, Dettmers et al. 2023, §3).</summary>
        public const int NF4BlockSize = 64;

        /// <summary>The model with <paramref name="options"/>' precision, quantization, checkpointing and LoRA.</summary>
        public static ModelSpec Apply(ModelSpec model, PlanOptions options)
        {
            LayerSpec Change(LayerSpec layer)
            {
                if (options.Precision is { } precision && (layer.IsModel || layer.Precision is not null))
                    layer = layer with { Precision = precision };
                if (options.Checkpoint is { } checkpoint && !layer.IsModel)
                    layer = layer with { Checkpoint = checkpoint };
                if (options.Quantize is { } kind && kind != QuantKind.None)
                {
                    var quant = new QuantSpec(kind, kind switch { QuantKind.Int4 => Int4GroupSize, QuantKind.NF4 => NF4BlockSize, _ => 0 }, false);
                    layer = layer with { Blocks = layer.Blocks.Select(b => b is LinearSpec { TiedTo: null } ? b with { Quant = quant } : b).ToEquatableArray() };
                }
                else if (options.Quantize == QuantKind.None)
                {
                    layer = layer with { Blocks = layer.Blocks.Select(b => b is LinearSpec ? b with { Quant = null } : b).ToEquatableArray() };
                }
                return layer;
            }

            var changed = new ModelSpec(Change(model.Root), model.Layers.Select(Change).ToEquatableArray());
            if (options.LoraRank is { } rank)
            {
                var lora = new LoraSpec(rank, 2.0 * rank, 0, Memory.Remedies.DefaultLoraTargets(changed).ToEquatableArray());
                changed = changed with { Root = changed.Root with { Lora = lora } };
            }
            return changed;
        }

        /// <summary>The scenario with <paramref name="options"/>' shapes, workload, optimizer, parallel plan and offload.</summary>
        public static ScenarioSpec Apply(ScenarioSpec scenario, PlanOptions options) => scenario with
        {
            SequenceLength = options.SequenceLength ?? scenario.SequenceLength,
            Batch = options.Batch ?? scenario.Batch,
            Workload = options.Workload ?? scenario.Workload,
            Optimizer = options.Optimizer ?? scenario.Optimizer,
            TensorParallel = options.TensorParallel ?? scenario.TensorParallel,
            DataParallel = options.DataParallel ?? scenario.DataParallel,
            ZeroStage = options.ZeroStage ?? scenario.ZeroStage,
            OffloadOptimizer = options.OffloadOptimizer ?? scenario.OffloadOptimizer,
            OffloadParameters = options.OffloadParameters ?? scenario.OffloadParameters,
            SequenceParallel = options.SequenceParallel ?? scenario.SequenceParallel,
            Gigabytes = options.Gpu is null && options.Gigabytes is { } gigabytes ? gigabytes : scenario.Gigabytes,
        };
    }
}
