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
    }
}
