using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;
using Xunit;
using static ModelGen.Core.Tests.Memory.Models;

namespace ModelGen.Core.Tests.Memory
{
    /// <summary>
    /// The loss terms of a vocab-parallel head as the runtime holds them (docs/memory-check.md, the tpplan section): a model that is
    /// almost all logits (a 65 536-token vocabulary over 8 features), so the loss's point is the forward peak and its transients are
    /// the loss's bytes alone.
    /// </summary>
    public class VocabParallelLossTests
    {
        private const long Vocab = 65536, Seq = 64;

        private static ModelSpec Probe(DType precision) => Model(Layer("M", true,
            new EmbeddingSpec("Embed", "embed", D("Vocab", Vocab), D("Hidden", 8)) { Shard = ShardStyle.Vocab },
            new LinearSpec("Head", "head", D("Hidden", 8), D("Vocab", Vocab), false) { Shard = ShardStyle.Column }) with { Precision = precision });

        private static long Transients(MemoryEstimate estimate, string phase) =>
            estimate.Phases.Single(p => p.Phase == phase).Terms.Single(t => t.Name == MemoryTerms.Transients).Bytes;

        [Theory]
        // VocabParallelCrossEntropy's forward: the logits, PlanTraining's fp32 copy of 16-bit ones, one fp32 working tensor.
        [InlineData(DType.BFloat16, 2 + 4 + 4)]
        [InlineData(DType.Float32, 4 + 0 + 4)]
        public void SlicedLossForwardHoldsTheLogitsTheirCopyAndOneWorkingTensor(DType precision, long bytesPerLogit)
        {
            var estimate = MemoryModel.Estimate(Probe(precision), Training(Seq) with { TensorParallel = 2 }, DeviceProfile.Cpu);
            Assert.Equal(Seq * (Vocab / 2) * bytesPerLogit, Transients(estimate, MemoryPhases.Forward));
        }

        [Fact]
        public void HeadBackwardRunsBesideTheLogitsAndTheirGradient()
        {
            // The head's backward runs while the loop holds the fp32 logits and the engine their gradient (4 + 4 bytes each),
            // beside the head's V/t × 8 weight gradient, its b·s·8 input gradient and CopyTo's all-reduced clone of it; the loss's
            // own backward point (logits + the softmax turned into the gradient, 8 bytes) is below it. Found by the tp2-sp check.
            var estimate = MemoryModel.Estimate(Probe(DType.Float32), Training(Seq) with { TensorParallel = 2 }, DeviceProfile.Cpu);
            var logits = Seq * (Vocab / 2);
            Assert.Equal(logits * (4 + 4) + (Vocab / 2) * 8 * 4 + 2 * Seq * 8 * 4, Transients(estimate, MemoryPhases.Backward));
            // With sequence parallelism the reduce-scatter's contiguous copy, MPI's full-size buffer and two b·s·8/2 shards replace the clone.
            var sequenceParallel = MemoryModel.Estimate(Probe(DType.Float32), Training(Seq) with { TensorParallel = 2, SequenceParallel = true }, DeviceProfile.Cpu);
            Assert.Equal(logits * (4 + 4) + (Vocab / 2) * 8 * 4 + 4 * Seq * 8 * 4, Transients(sequenceParallel, MemoryPhases.Backward));
        }

        [Fact]
        public void GatheredLogitsKeepTheFp32CrossEntropyTermsOnAllLogits()
        {
            // CrossEntropyFp32's backward on all V logits: 16-bit logits, log-probabilities and the gradients of both in fp32.
            var estimate = MemoryModel.Estimate(Probe(DType.BFloat16), Training(Seq) with { TensorParallel = 2, GatheredLogits = true }, DeviceProfile.Cpu);
            Assert.Equal(Seq * Vocab * (2 + 12), Transients(estimate, MemoryPhases.Backward));
        }
    }
}
