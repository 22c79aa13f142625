using System.Collections.Generic;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>
    /// Element types under mixed precision (<see cref="LayerSpec.Compute"/>, docs/precision.md): the layer's input and what its norms,
    /// embeddings and sublayers return are fp32; a Linear returns the 16-bit compute dtype (<see cref="ForwardElement.Compute"/>,
    /// which the memory model sizes at the compute width for such a layer); an op of a 16-bit and an fp32 tensor promotes to fp32,
    /// as PyTorch's type promotion does. Without mixed precision every activation is <see cref="ForwardElement.Compute"/>, as before.
    /// </summary>
    internal sealed partial class BodyWalker
    {
        /// <summary>The element of the layer's floating input and of tensors whose origin is not followed.</summary>
        private ForwardElement Activation => _spec.Compute is null ? ForwardElement.Compute : ForwardElement.Float32;

        /// <summary>The element of a block's output; <paramref name="argument"/> is the tensor it transforms.</summary>
        private ForwardElement BlockOutput(BlockSpec block, TensorValue? argument)
        {
            if (_spec.Compute is null)
                return ForwardElement.Compute;
            if (block is LinearSpec { Quant: null })
                return ForwardElement.Compute;
            if (BlockShape.KeepsShape(block) && argument is not null)
                return argument.Element; // dropout keeps its input's dtype
            return ForwardElement.Float32;
        }

        /// <summary>
        /// Whether a block keeps <paramref name="argument"/> itself for backward (rather than a cast copy of it): under mixed precision
        /// a Linear keeps a 16-bit copy of an fp32 input, so an op that saves the fp32 tensor still counts it.
        /// </summary>
        private bool KeepsArgument(BlockSpec block, TensorValue argument) =>
            _spec.Compute is null || block is not LinearSpec { Quant: null } || argument.Element != ForwardElement.Float32;

        /// <summary>The element of an elementwise op's result: the first operand's, promoted to fp32 with an fp32 operand under mixed precision.</summary>
        private ForwardElement Promoted(IReadOnlyList<TensorValue> operands, ForwardElement fallback)
        {
            if (operands.Count == 0)
                return fallback;
            if (_spec.Compute is not null && operands.Any(o => o.Element == ForwardElement.Float32))
                return ForwardElement.Float32;
            return operands[0].Element;
        }
    }
}
