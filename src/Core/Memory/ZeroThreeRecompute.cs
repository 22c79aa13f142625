using System.Collections.Generic;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// The activation checkpointing the ZeRO-3 engine imposes (src/Runtime/Training/ZeroLayerFunction.cs): every instance of an
    /// outermost <c>[Stack]</c> (a unit of <c>ZeroStage3.RepeatedLayers</c>) keeps only its inputs in the forward and is gathered
    /// and recomputed in its backward, whatever <c>[Checkpoint]</c> declares (the engine even turns a layer's own checkpoint off,
    /// since it would recompute the layer a second time). So under the engine the memory model walks those stacks as checkpointed
    /// every instance: the kept inputs plus one instance's full activations during its recompute, which is what the engine holds
    /// beside the gathered layer and the prefetched one (<see cref="ModelStates"/>).
    /// </summary>
    internal static class ZeroThreeRecompute
    {
        /// <summary>True when the plan trains through the ZeRO-3 engine (as <c>PlanTraining</c> decides: stage 3 over more than one rank, or parameter offload).</summary>
        public static bool Runs(ScenarioSpec scenario) =>
            scenario.Workload == Workload.Training && ((scenario.ZeroStage >= 3 && scenario.DataParallel > 1) || scenario.OffloadParameters);

        /// <summary><paramref name="model"/> with every outermost stack checkpointing each instance when the engine runs; else the model itself.</summary>
        public static ModelSpec Apply(ModelSpec model, ScenarioSpec scenario)
        {
            if (!Runs(scenario))
                return model;
            var layers = model.Layers.ToDictionary(l => l.FullName);
            var changed = new Dictionary<string, LayerSpec>();
            var visiting = new HashSet<string>();
            LayerSpec Visit(LayerSpec layer)
            {
                if (changed.TryGetValue(layer.FullName, out var done) || !visiting.Add(layer.FullName))
                    return done ?? layer;
                var blocks = new List<BlockSpec>();
                foreach (var block in layer.Blocks)
                {
                    // A stack's elements are the units; a plain sublayer is looked into, as RepeatedLayers walks the module tree.
                    if (block is StackSpec { CheckpointEvery: not 1 } stack)
                        blocks.Add(stack with { CheckpointEvery = 1 });
                    else
                    {
                        if (block is LayerRefSpec reference && layers.TryGetValue(reference.LayerType, out var child))
                            changed[child.FullName] = Visit(child);
                        blocks.Add(block);
                    }
                }
                var result = blocks.SequenceEqual(layer.Blocks) ? layer : layer with { Blocks = blocks.ToEquatableArray() };
                changed[layer.FullName] = result;
                return result;
            }
            var root = Visit(model.Root);
            var updated = model.Layers.Select(l => changed.TryGetValue(l.FullName, out var c) ? c : l).ToList();
            if (ReferenceEquals(root, model.Root) && SameLayers(updated, model.Layers))
                return model;
            return model with { Root = root, Layers = updated.ToEquatableArray() };
        }

        // A loop rather than Zip: Zip's iterator over a bool result is compiled just in time in every compiler process.
        private static bool SameLayers(List<LayerSpec> updated, EquatableArray<LayerSpec> layers)
        {
            var i = 0;
            foreach (var layer in layers)
            {
                if (i >= updated.Count)
                    break;
                if (!ReferenceEquals(updated[i++], layer))
                    return false;
            }
            return true;
        }
    }
}
