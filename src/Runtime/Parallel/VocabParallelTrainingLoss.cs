using System;
using ModelGen.Distributed;
using static TorchSharp.torch;

namespace ModelGen.Parallel
{
    /// <summary>
    /// The loss a generated <c>CreateTraining</c> uses for a model whose output head is vocab-parallel when the caller passes no
    /// loss: the model is built with <see cref="TensorParallelOptions.VocabParallelLogits"/>, so its head returns this rank's
    /// <c>V/t</c> logits, and the mean over positions of <see cref="VocabParallelCrossEntropy.Loss"/> is taken on them. No rank
    /// builds the full logits, which is what the memory model counts for the plan (docs/tensor-parallel.md).
    /// </summary>
    /// <remarks>
    /// One instance serves one training run: <see cref="Options"/> is called once by the model factory (the grid exists only
    /// then), and <see cref="Compute"/> reads the group and rank it recorded.
    /// </remarks>
    public sealed class VocabParallelTrainingLoss
    {
        private TensorParallelOptions? _options;

        /// <summary>The options this run's model is built with: the group's, with <see cref="TensorParallelOptions.VocabParallelLogits"/> on.</summary>
        /// <param name="group">The grid's tensor-parallel group.</param>
        /// <param name="sequenceParallel">The plan's sequence parallelism.</param>
        /// <param name="seed">Seed of the sharded initialization.</param>
        public TensorParallelOptions Options(ProcessGroup group, bool sequenceParallel, long seed)
        {
            ArgumentNullException.ThrowIfNull(group);
            _options = new TensorParallelOptions(group, sequenceParallel, seed) { VocabParallelLogits = true };
            return _options;
        }

        /// <summary>
        /// The start-up refusal of a loss passed to the generated <c>CreateTraining</c> of a model whose plan splits the vocabulary
        /// without <c>GatheredLogits</c>: such a loss reads all <c>V</c> logits, gathered on every rank, which the plan's estimate does
        /// not count (the analyzers report the call as MG0220).
        /// </summary>
        /// <param name="model">The model class.</param>
        /// <param name="tensorParallel">The plan's tensor-parallel degree.</param>
        /// <param name="parameter">The loss parameter's name.</param>
        public static ArgumentException GivenLossRefused(string model, int tensorParallel, string parameter) => new(
            $"{model}.CreateTraining was given a loss, but {model}'s [ParallelPlan] splits the vocabulary over {tensorParallel} tensor-parallel " +
            "ranks and trains on the vocab-parallel cross-entropy of each rank's V/t logits. A loss of its own reads all V logits, gathered " +
            "on every rank (batch × sequence × V per rank, and their gradient), which the plan's memory estimate does not count. Leave out " +
            $"the loss, or declare [ParallelPlan(..., GatheredLogits = true)] on {model} so that the estimate counts the gathered logits " +
            "(the analyzers report this call as MG0220).", parameter);

        /// <summary>
        /// Mean cross-entropy of this rank's <c>[..., V/t]</c> logits against the token ids <c>[...]</c> (the same on every rank of
        /// the group), equal to the unsharded model's mean cross-entropy.
        /// </summary>
        /// <param name="logits">This rank's logits, the vocabulary slice <c>rank · V/t</c> onward.</param>
        /// <param name="targets">Target token ids, int64, shaped as the logits without their last dimension.</param>
        /// <exception cref="InvalidOperationException">Called before <see cref="Options"/> built the model.</exception>
        /// <exception cref="ArgumentException">Targets whose shape does not match the logits'.</exception>
        public Tensor Compute(Tensor logits, Tensor targets)
        {
            ArgumentNullException.ThrowIfNull(logits);
            ArgumentNullException.ThrowIfNull(targets);
            var options = _options ?? throw new InvalidOperationException(
                "The vocab-parallel loss was called before the model was built with its options (VocabParallelTrainingLoss.Options).");
            // Every rank holds an equal slice (a vocabulary the degree does not divide is refused at construction).
            var start = options.Rank * logits.shape[^1];
            return VocabParallelCrossEntropy.Loss(logits, targets, start, options.Group).mean();
        }
    }
}
