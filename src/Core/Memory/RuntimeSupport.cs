namespace ModelGen.Memory
{
    /// <summary>
    /// What the generated code runs today, so that the remedies and the card fits propose only plans that run
    /// ("what is estimated is what runs"). One place to change when the generator learns more.
    /// </summary>
    public static class RuntimeSupport
    {
        /// <summary>
        /// True: a generated model whose blocks carry <c>[Shard]</c> takes <c>ModelGen.Parallel.TensorParallelOptions</c> and
        /// builds only each rank's slice from the <c>ModelGen.Parallel</c> modules, and the generated <c>CreateTraining</c> runs a
        /// tensor-parallel plan, so remedies and card fits may spread such a model by tensor parallelism (docs/tensor-parallel.md).
        /// </summary>
        public static bool GeneratedTensorParallel => true;

        /// <summary>
        /// Whether the generated <c>CreateTraining</c> runs ZeRO stage 3 as the memory model sizes it: the engine partitions the
        /// layers of each <c>[Stack]</c>, and every generated forward routes through it (docs/distributed.md), whatever it takes
        /// (one tensor, or a hidden state beside masks, position ids or optional inputs) and returns (a tensor, a tuple or a
        /// record). Every forward the parser accepts has tensor inputs only, so every model qualifies; the method stays the one
        /// place to change if the generator ever emits a layer the engine cannot route.
        /// </summary>
        public static bool RunsZeroStage3(Specs.ModelSpec model)
        {
            if (model is null)
                throw new System.ArgumentNullException(nameof(model));
            return true;
        }
    }
}
