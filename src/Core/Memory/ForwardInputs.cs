using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// Bytes of a layer's forward inputs as an activation checkpoint keeps them (docs/attributes.md, "Forward"): the first input
    /// as the layer's first block says (unless <c>[Input]</c> declares it), every other input as its <c>[Input]</c> declares.
    /// An undeclared extra input counts nothing, and the parser has said so (MG0134): sizes are declared, never guessed.
    /// </summary>
    internal static class ForwardInputs
    {
        /// <summary>Bytes an activation checkpoint of <paramref name="layer"/> keeps; <paramref name="firstInput"/> is the first input by the block rule.</summary>
        public static long KeptBytes(LayerSpec layer, DType precision, Pass pass, long firstInput)
        {
            var inputs = layer.Forward.Inputs;
            if (inputs.Count == 0)
                return firstInput;
            var total = inputs[0].Size is { } first ? Bytes(first, precision, pass) : firstInput;
            for (var i = 1; i < inputs.Count; i++)
            {
                if (inputs[i].Size is { } size)
                    total = checked(total + Bytes(size, precision, pass));
            }
            return total;
        }

        /// <summary>Bytes of one declared input in <paramref name="pass"/>.</summary>
        public static long Bytes(InputSize size, DType precision, Pass pass) => size.Shape switch
        {
            InputShape.Tokens => checked(pass.Tokens * (size.ElementBytes > 0 ? size.ElementBytes : Sizes.Int64)),
            InputShape.Hidden => checked(pass.Tokens * size.Width.Value * (size.ElementBytes > 0 ? size.ElementBytes : Sizes.Of(precision))),
            InputShape.Pairs => checked(pass.Batch * pass.Queries * pass.Keys * (size.ElementBytes > 0 ? size.ElementBytes : 1)),
            _ => 0,
        };
    }
}
