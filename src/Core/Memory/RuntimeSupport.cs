using System.Linq;

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
        /// layers of each <c>[Stack]</c> and routes them through the one-tensor generated forward, so every stacked layer must
        /// have a <c>Tensor Forward(Tensor)</c>; a layer with several inputs or a tuple/record result is not routed
        /// (docs/distributed.md), and a ZeRO-3 remedy or card fit for such a model would not run as estimated.
        /// </summary>
        public static bool RunsZeroStage3(Specs.ModelSpec model)
        {
            var layers = new System.Collections.Generic.Dictionary<string, Specs.LayerSpec>();
            foreach (var layer in model.Layers)
                layers[layer.FullName] = layer;
            foreach (var layer in new[] { model.Root }.Concat(model.Layers))
            {
                foreach (var stack in layer.Blocks.OfType<Specs.StackSpec>())
                {
                    if (layers.TryGetValue(stack.LayerType, out var repeated) && !repeated.Forward.IsSingleTensor)
                        return false;
                }
            }
            return true;
        }
    }
}
