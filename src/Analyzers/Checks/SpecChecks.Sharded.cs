using System.Collections.Generic;
using System.Linq;
using ModelGen.Diagnostics;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Analyzers.Checks
{
    public static partial class SpecChecks
    {
        /// <summary>
        /// What the generated constructor would refuse for the scenario's tensor-parallel degree and sequence parallelism (the
        /// same rules it is emitted from, <see cref="TensorParallelSupport"/>): MG0208 for a sharded block declared with a type its
        /// tensor-parallel module is not, MG0209 for a block that cannot run on sequence shards, MG0212 for a quantized row-parallel slice
        /// that leaves partial quantization groups on a rank, MG0213 for a [LoRA] target that is a tensor-parallel projection. A block reported once, and not
        /// at all when MG0201 already says it cannot split at this degree (<paramref name="uneven"/>).
        /// </summary>
        public static IEnumerable<SpecFinding> CheckShardedConstruction(ModelSpec model, ScenarioSpec scenario, ISet<(string Layer, string Block)> uneven) =>
            TensorParallelSupport.Problems(model, scenario)
                .Where(p => !uneven.Contains((p.Layer.Name, p.Block.Name)))
                .GroupBy(p => (p.Layer.Name, p.Block.Name)).Select(g => g.First())
                .Select(p => SpecFinding.Create(p.Refusal switch
                    {
                        TensorParallelRefusal.SequenceShards => Descriptors.SequenceParallelUnsupported,
                        TensorParallelRefusal.QuantizedSlice => Descriptors.QuantizedSliceUneven,
                        TensorParallelRefusal.AdaptedSlice => Descriptors.AdaptedSliceUnsupported,
                        _ => Descriptors.ShardedTypeCannotHold,
                    },
                    null, null, scenario.TensorParallel, p.Layer.Name, p.Block.Name, p.Reason))
                .Concat(CheckSequenceShards(model, scenario));

        /// <summary>
        /// Sequence parallelism the generated code cannot run as estimated: MG0211 for an inference budget (cached decoding runs whole
        /// sequences), MG0210 for a training budget whose sequence the degree does not divide (the first scatter refuses it).
        /// </summary>
        private static IEnumerable<SpecFinding> CheckSequenceShards(ModelSpec model, ScenarioSpec scenario)
        {
            if (!scenario.SequenceParallel || scenario.TensorParallel <= 1)
                yield break;
            if (scenario.Workload == Workload.Inference)
                yield return SpecFinding.Create(Descriptors.SequenceParallelDecoding, null, null, model.Root.Name, scenario.TensorParallel);
            else if (scenario.SequenceLength > 0 && scenario.SequenceLength % scenario.TensorParallel != 0)
                yield return SpecFinding.Create(Descriptors.SequenceShardsUneven, null, null, scenario.TensorParallel, model.Root.Name, scenario.SequenceLength);
        }
    }
}
