using static TorchSharp.torch;

namespace ModelGen.Training
{
    /// <summary>
    /// A contiguous range of one state_dict tensor's flattened elements, as one rank holds it: what a sharded checkpoint stores.
    /// </summary>
    /// <param name="Name">The state_dict key, e.g. <c>blocks.0.attn.q_proj.weight</c>.</param>
    /// <param name="Shape">The whole tensor's shape.</param>
    /// <param name="DType">Its element type.</param>
    /// <param name="Offset">The first element of the range in the flattened tensor.</param>
    /// <param name="Values">The range's values, one-dimensional.</param>
    public sealed record TensorSlice(string Name, long[] Shape, ScalarType DType, long Offset, Tensor Values);
}
