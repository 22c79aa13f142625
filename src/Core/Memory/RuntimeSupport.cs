namespace ModelGen.Memory
{
    /// <summary>
    /// What the generated code runs today, so that the remedies and the card fits propose only plans that run
    /// ("what is estimated is what runs"). One place to change when the generator learns more.
    /// </summary>
    public static class RuntimeSupport
    {
        /// <summary>
        /// False while the generated modules build every <c>[Shard]</c> block whole: the runtime has the tensor-parallel
        /// modules (<c>ModelGen.Parallel</c>), but no generated model uses them and the generated training refuses a
        /// tensor-parallel plan, so no remedy or card fit may spread a model by tensor parallelism.
        /// </summary>
        public static bool GeneratedTensorParallel { get; }
    }
}
