using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Weights, gradients and optimizer state per rank after data-parallel sharding (ZeRO, Rajbhandari et al. 2020, §5: stage 1
    /// partitions optimizer state, 2 also gradients, 3 also parameters, each over the Nd data-parallel ranks) and offload to host.
    /// </summary>
    internal sealed class ModelStates
    {
        /// <summary>Blocks of 2048 values sharing one fp32 absmax in 8-bit Adam (Dettmers et al. 2022, "8-bit Optimizers", §2).</summary>
        public const int Adam8BitBlockSize = 2048;

        /// <summary>
        /// Parameter-sized fp32 temporaries of TorchSharp's AdamW step per trainable tensor (<c>exp_avg_sq.sqrt()</c>, then the
        /// denominator). TorchSharp 0.107 runs the whole step inside one dispose scope (<c>OptimizerHelper._step</c>), so the
        /// temporaries of every parameter stay alive until the step ends: 8 bytes per trainable parameter, not per largest tensor.
        /// </summary>
        public const int AdamWStepTemporaries = 2;

        public long Weights { get; private set; }

        /// <summary>fp32 master gradients kept by ModelGen's <c>MasterWeights</c> for 16-bit trainable parameters (on device).</summary>
        public long MasterGradients { get; private set; }

        /// <summary>Optimizer moments plus fp32 master weights (on device).</summary>
        public long Optimizer { get; private set; }

        /// <summary>Optimizer-step temporaries on device.</summary>
        public long StepTemporaries { get; private set; }

        public long Host { get; private set; }

        /// <summary>Shards model gradients of <paramref name="bytes"/> as ZeRO stage 2 and 3 do.</summary>
        public long ShardGradients(long bytes) => _zero >= 2 ? Sizes.Share(bytes, _dataParallel) : bytes;

        private int _zero;
        private long _dataParallel;

        public static ModelStates Of(ModelWalk walk, ScenarioSpec scenario)
        {
            var states = new ModelStates { _zero = scenario.ZeroStage, _dataParallel = scenario.DataParallel };
            var nd = (long)scenario.DataParallel;
            var largestStep = walk.Steps.Count == 0 ? 0 : walk.Steps.Max(s => s.Weights);
            if (scenario.OffloadParameters)
            {
                // Streamed layer by layer: the step computing now and the next one being copied in.
                states.Weights = 2 * largestStep;
                states.Host += walk.WeightBytes;
            }
            else
            {
                states.Weights = scenario.ZeroStage >= 3 ? Sizes.Share(walk.WeightBytes, nd) + largestStep : walk.WeightBytes;
            }
            if (scenario.Workload != Workload.Training)
                return states;

            var elements = walk.TrainableElements;
            var moments = scenario.Optimizer switch
            {
                ModelGen.Optimizer.AdamW => 2 * Sizes.Fp32 * elements,
                ModelGen.Optimizer.Adam8Bit => (2 * elements) + (2 * Sizes.Fp32 * ((elements + Adam8BitBlockSize - 1) / Adam8BitBlockSize)),
                ModelGen.Optimizer.SgdMomentum => Sizes.Fp32 * elements,
                _ => 0L,
            };
            var master = Sizes.Fp32 * walk.SixteenBitTrainableElements;
            var optimizer = moments + master;
            var masterGradients = master;
            if (scenario.ZeroStage >= 1)
            {
                optimizer = Sizes.Share(optimizer, nd);
                masterGradients = Sizes.Share(masterGradients, nd);
            }
            // Each rank steps only its own partition of the parameters from ZeRO stage 1 on.
            var temporaries = scenario.Optimizer == ModelGen.Optimizer.AdamW ? AdamWStepTemporaries * Sizes.Fp32 * elements : 0;
            if (scenario.ZeroStage >= 1)
                temporaries = Sizes.Share(temporaries, nd);
            if (scenario.OffloadOptimizer)
            {
                // The step runs on the host (ZeRO-Offload, Ren et al. 2021): states, master copies and an fp32 gradient live there.
                states.Host += optimizer + (masterGradients > 0 ? masterGradients : states.ShardGradients(walk.GradientBytes)) + temporaries;
                return states;
            }
            states.Optimizer = optimizer;
            states.MasterGradients = masterGradients;
            states.StepTemporaries = temporaries;
            return states;
        }
    }
}
