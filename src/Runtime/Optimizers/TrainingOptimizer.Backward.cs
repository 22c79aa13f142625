using System;
using System.Collections.Generic;
using System.Linq;
using ModelGen.Distributed;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelGen.Optimizers
{
    public abstract partial class TrainingOptimizer
    {
        /// <summary>
        /// Folds each layer's gradients while backward runs, right after that layer's backward has produced them, instead of all at
        /// once after backward: every module of <paramref name="model"/> that owns parameters of this optimizer gets a forward
        /// pre-hook that routes its input through an identity autograd function, whose backward runs once the engine has
        /// accumulated the module's parameter gradients (TorchSharp 0.107 has no gradient hooks; this is the marker the data
        /// parallel engine uses). Each gradient is then reduced (ZeRO 1/2), added to its main gradient (on the host when offloaded)
        /// and freed, so a 16-bit gradient lives for one layer's backward only.
        /// </summary>
        /// <remarks>
        /// <para>When it pays: with <see cref="OptimizerSettings.ZeroStage"/> 2 or <see cref="OptimizerSettings.OffloadToHost"/>,
        /// the device then holds the rank's main gradients (4/Nd bytes per parameter) or none, instead of every 16-bit gradient
        /// (2 bytes) at the end of backward. At stage 0 with fp32 master weights it does not: the 4-byte main gradients then exist
        /// during backward instead of only in the step, which raises backward's peak; do not use it there.</para>
        /// <para>Modules whose input needs no gradient (the first layer, fed with data) and modules inside a checkpointed region
        /// (whose recompute computes gradients without accumulating them) are folded by <see cref="Step"/> as usual.</para>
        /// </remarks>
        /// <param name="model">The model whose modules to hook (recursively).</param>
        /// <returns>Removes the hooks when disposed.</returns>
        public IDisposable FoldDuringBackward(nn.Module model)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentNullException.ThrowIfNull(model);
            var slotOf = new Dictionary<Parameter, ParameterSlot>(ReferenceEqualityComparer.Instance);
            foreach (var slot in _slots)
                slotOf[slot.Model] = slot;
            var removers = new List<Action>();
            foreach (var module in model.modules()) {
                var owned = module.named_parameters(false).Select(n => n.parameter)
                    .Where(p => slotOf.ContainsKey(p)).Select(p => slotOf[p]).ToArray();
                if (owned.Length == 0 || module is not nn.Module<Tensor, Tensor> hookable)
                    continue;
                var remover = hookable.register_forward_pre_hook((_, input) =>
                    is_grad_enabled() && input.requires_grad ? GradientsReady.Mark(input, () => FoldFromBackward(owned)) : input);
                removers.Add(remover.remove);
            }
            return new HookRemovers(removers);
        }

        /// <summary>Folds <paramref name="slots"/> from inside the autograd engine: never throws (failures go to <see cref="BackwardFailures"/>).</summary>
        internal void FoldFromBackward(ParameterSlot[] slots)
        {
            try {
                using var _ = no_grad();
                foreach (var slot in slots) {
                    if (slot.Model.grad is null)
                        continue;
                    FoldSlot(slot, Group);
                    slot.FoldedDuringBackward = true;
                }
            } catch (Exception exception) {
                BackwardFailures.Record(new InvalidOperationException("Folding gradients during backward failed: " + exception.Message, exception));
            }
        }

        private sealed class HookRemovers(List<Action> removers) : IDisposable
        {
            public void Dispose()
            {
                foreach (var remove in removers)
                    remove();
                removers.Clear();
            }
        }
    }
}
