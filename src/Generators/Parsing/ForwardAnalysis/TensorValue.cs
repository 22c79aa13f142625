using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Parsing.ForwardAnalysis
{
    /// <summary>One tensor the body computes (identity matters: a tensor two ops save is counted once).</summary>
    internal sealed class TensorValue
    {
        public TensorValue(TensorShape shape, ForwardElement element, bool sharded, string origin)
        {
            Shape = shape;
            Element = element;
            Sharded = sharded;
            Origin = origin;
        }

        public TensorShape Shape { get; }

        public ForwardElement Element { get; }

        /// <summary>Descends from a column-sharded block's output: 1/t per tensor-parallel rank.</summary>
        public bool Sharded { get; }

        /// <summary>What made it, for the saved-tensor list: <c>gelu output</c>.</summary>
        public string Origin { get; }
    }

    /// <summary>The parts of <c>torch.chunk</c> / <c>split</c>: every part has <see cref="Part"/>'s shape.</summary>
    internal sealed class TensorParts
    {
        public TensorParts(TensorValue part) => Part = part;

        public TensorValue Part { get; }
    }

    /// <summary>One op as the walker records it, before saved tensors shared with other ops or blocks are removed.</summary>
    internal sealed class OpRecord
    {
        public OpRecord(string call, Location location, bool estimated, EquatableArray<Dim> repeats)
        {
            Call = call;
            Location = location;
            Estimated = estimated;
            Repeats = repeats;
        }

        public string Call { get; }

        public Location Location { get; }

        public bool Estimated { get; }

        public EquatableArray<Dim> Repeats { get; }

        /// <summary>Tensors autograd keeps for the op's backward, with what the saved-tensor list calls them.</summary>
        public List<(TensorValue Tensor, string Name)> Saved { get; } = new();

        /// <summary>New tensors the op creates (its output).</summary>
        public List<TensorValue> Created { get; } = new();
    }

    /// <summary>A block called inside a counted loop: it runs once per repeat.</summary>
    internal sealed class BlockInLoop
    {
        public BlockInLoop(string block, EquatableArray<Dim> repeats)
        {
            Block = block;
            Repeats = repeats;
        }

        public string Block { get; }

        public EquatableArray<Dim> Repeats { get; }
    }
}
