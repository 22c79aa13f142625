using System;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Weights, gradients and optimizer state per rank as ModelGen's optimizers hold them (src/Runtime/Optimizers), after
    /// data-parallel sharding (ZeRO, Rajbhandari et al. 2020, §5: stage 1 partitions optimizer state, 2 also gradients, 3 also
    /// parameters, each over the Nd data-parallel ranks) and offload to host (ZeRO-Offload, Ren et al. 2021).
    /// </summary>
    /// <remarks>
    /// The optimizer keeps, per trainable element of its partition, the moments and (for 16-bit parameters) an fp32 master weight;
    /// gradients exist from backward until the step ends and are then freed (set to none). Backward produces them at the
    /// parameter's dtype (TorchSharp 0.107 has no gradient hooks, so they are folded right after backward); the fold turns them into
    /// one fp32 main gradient per element the rank steps, freeing each 16-bit gradient as it goes.
    /// </remarks>
    internal sealed class ModelStates
    {
        /// <summary>Blocks of 2048 values sharing one fp32 absmax in 8-bit Adam (Dettmers et al. 2022, "8-bit Optimizers", §2).</summary>
        public const int Adam8BitBlockSize = 2048;

        /// <summary>Parameter weights on the device (stage 3: the rank's partition plus the layer gathered for compute).</summary>
        public long Weights { get; private set; }

        /// <summary>Optimizer moments plus fp32 master weights on the device (0 when offloaded).</summary>
        public long Optimizer { get; private set; }

        /// <summary>
        /// Gradients on the device after the fold, through the step: fp32 main gradients of the rank's partition (from ZeRO stage 1
        /// on: of every trainable element; at stage 0: of the 16-bit ones, beside the fp32 parameters' own gradients); 0 when offloaded.
        /// </summary>
        public long FoldedGradients { get; private set; }

        /// <summary>Device temporaries of the fold under ZeRO with Nd &gt; 1: the largest parameter's gradient in fp32 for the collective, and the rank's part of it.</summary>
        public long FoldTemporaries { get; private set; }

        /// <summary>Device temporaries of the step itself: the largest parameter partition's (AdamW: one fp32 denominator; SGD: none).</summary>
        public long StepTemporaries { get; private set; }

        /// <summary>
        /// Plain data parallelism (Nd &gt; 1, ZeRO stage 0): DistributedDataParallel makes every gradient a view of a flat bucket
        /// (gradient_as_bucket_view) and the buckets stay allocated for the whole step, so the gradients' bytes are on the device in
        /// the forward too, not only from backward on. 0 otherwise.
        /// </summary>
        public long BucketGradients { get; private set; }

        /// <summary>
        /// Bucket bytes still on the device after the fold, beside <see cref="FoldedGradients"/>: the 16-bit gradients the optimizer
        /// released (the bucket keeps their storage), and with the optimizer offloaded every gradient (the host has the copies).
        /// </summary>
        public long BucketAfterFold { get; private set; }

        /// <summary>Host bytes: offloaded parameters, optimizer state, main gradients and the host step's temporaries.</summary>
        public long Host { get; private set; }

        /// <summary>
        /// Gradient bytes a step leaves on the device once its backward is done: under ZeRO stage 3 a stack
        /// instance's gradients are reduce-scattered into the rank's partition (1/Nd) at the end of its backward (ZeroLayerFunction);
        /// otherwise all of them stay until the optimizer step.
        /// </summary>
        /// <param name="gradients">The step's gradient bytes.</param>
        /// <param name="inStack">True for a step of a stack instance (inside a run of the walk).</param>
        public long GradientsAfterBackward(long gradients, bool inStack) =>
            _zeroThreeRanks > 1 && inStack ? Sizes.Share(gradients, _zeroThreeRanks) : gradients;

        private long _zeroThreeRanks = 1;

        public static ModelStates Of(ModelWalk walk, ScenarioSpec scenario, long largestTensor)
        {
            var states = new ModelStates();
            var nd = (long)scenario.DataParallel;
            if (scenario.ZeroStage >= 3)
                states._zeroThreeRanks = nd;
            // ZeRO-3 over one rank partitions nothing (MG0205: no effect); PlanTraining runs it as a plain model then.
            if ((scenario.ZeroStage >= 3 && nd > 1) || scenario.OffloadParameters)
            {
                // The ZeRO-3 engine (src/Runtime/Training/ZeroStage3.cs): each repeated layer is a unit, gathered whole while it runs,
                // with the next one gathered ahead (prefetch, Nd > 1); the model's other parameters are gathered for the whole step.
                var (rest, largestUnit) = ZeroThreeUnits(walk);
                var gathered = rest + ((nd > 1 ? 2 : 1) * largestUnit);
                var partitions = Sizes.Share(walk.WeightBytes, nd);
                // Offloaded parameters keep the rank's partition on the host and stream each unit to the device when gathered.
                states.Weights = scenario.OffloadParameters ? gathered : partitions + gathered;
                if (scenario.OffloadParameters)
                    states.Host += partitions;
            }
            else
            {
                states.Weights = walk.WeightBytes;
            }
            if (scenario.Workload != Workload.Training)
                return states;

            var elements = walk.TrainableElements;
            var sharded = scenario.ZeroStage >= 1;
            long Partition(long bytes) => sharded ? Sizes.Share(bytes, nd) : bytes;

            var moments = scenario.Optimizer switch
            {
                ModelGen.Optimizer.AdamW => 2 * Sizes.Fp32 * elements,
                ModelGen.Optimizer.Adam8Bit => walk.EightBitStateBytes,
                ModelGen.Optimizer.SgdMomentum => Sizes.Fp32 * elements,
                _ => 0L,
            };
            // AdamW8Bit updates each parameter in its own dtype: no fp32 master copy and no fp32 main gradient (docs/lora.md).
            var eightBit = scenario.Optimizer == ModelGen.Optimizer.Adam8Bit;
            // AdamW8Bit is a standalone optimizer, not ZeRO-sharded: its state stays whole on every rank.
            var optimizer = eightBit ? moments : Partition(moments + (Sizes.Fp32 * walk.SixteenBitTrainableElements));

            // The fold: at stage 0 only 16-bit gradients become fp32 main gradients (fp32 parameters step their own gradient, which
            // the step reads in place); from stage 1 on every gradient is reduced into an fp32 main gradient of the rank's partition.
            var folded = eightBit ? walk.GradientBytes
                : sharded
                ? Sizes.Share(Sizes.Fp32 * elements, nd)
                : walk.GradientBytes + ((Sizes.Fp32 - 2) * walk.SixteenBitTrainableElements);

            // One parameter (its partition) at a time: AdamW's denominator is the only parameter-sized temporary; SGD updates in place.
            var slot = sharded ? Math.Min(largestTensor, Sizes.Share(elements, nd)) : largestTensor;
            var stepTemporaries = eightBit ? LoraTerms.EightBitStepCopies * Sizes.Fp32 * Math.Min(slot, LoraTerms.EightBitChunkElements)
                : scenario.Optimizer == ModelGen.Optimizer.AdamW ? Sizes.Fp32 * slot : 0;
            var foldTemporaries = sharded && nd > 1 ? Sizes.Fp32 * (largestTensor + slot) : 0;
            if (!sharded && nd > 1)
            {
                // DDP's buckets (src/Runtime/Distributed/GradientBucket.cs): the fp32 parameters' gradients stay the bucket's views
                // through the step; the 16-bit ones are folded and released, but the bucket keeps their bytes.
                states.BucketGradients = walk.GradientBytes;
                states.BucketAfterFold = scenario.OffloadOptimizer ? walk.GradientBytes : 2L * walk.SixteenBitTrainableElements;
            }

            if (scenario.OffloadOptimizer)
            {
                // The step runs on the host: states, master copies, main gradients and the step's temporary live there; each gradient
                // goes to the host as it is folded, so the device keeps none after the fold.
                states.Host += optimizer + Partition(Sizes.Fp32 * elements) + stepTemporaries;
                states.FoldTemporaries = foldTemporaries;
                return states;
            }
            states.Optimizer = optimizer;
            states.FoldedGradients = folded;
            states.StepTemporaries = stepTemporaries;
            states.FoldTemporaries = foldTemporaries;
            return states;
        }

        /// <summary>
        /// The ZeRO-3 units as ZeroStage3.RepeatedLayers splits a model: bytes of the parameters outside every outermost [Stack]
        /// (gathered all step) and of the largest stack instance (its own blocks and its sublayers'), from the walk's per-path layer
        /// memory (a stack's entry counts its instances; a sublayer's path extends its parent's).
        /// </summary>
        private static (long Outside, long LargestUnit) ZeroThreeUnits(ModelWalk walk)
        {
            var entries = walk.Layers.Values.OrderBy(e => e.Path.Length).ToList();
            long CountOfParent(LayerMemory entry)
            {
                var parent = entries.Where(e => e.Path.Length < entry.Path.Length && entry.Path.StartsWith(e.Path + ".", StringComparison.Ordinal))
                    .OrderByDescending(e => e.Path.Length).FirstOrDefault();
                return parent?.Count ?? 1;
            }
            var stacks = entries.Where(e => e.Count > CountOfParent(e)).ToList();
            var outermost = stacks.Where(s => !stacks.Any(o => o.Path.Length < s.Path.Length && s.Path.StartsWith(o.Path + ".", StringComparison.Ordinal))).ToList();
            var inside = 0L;
            var largest = 0L;
            foreach (var stack in outermost)
            {
                var all = entries.Where(e => e.Path == stack.Path || e.Path.StartsWith(stack.Path + ".", StringComparison.Ordinal))
                    .Sum(e => e.WeightBytes * e.Count);
                inside += all;
                largest = Math.Max(largest, stack.Count == 0 ? 0 : all / stack.Count);
            }
            return (Math.Max(0, walk.WeightBytes - inside), largest);
        }
    }
}
