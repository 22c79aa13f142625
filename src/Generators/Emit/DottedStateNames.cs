using System;
using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>
    /// Dotted <c>[StateName("attention.self.query")]</c>: TorchSharp refuses a '.' in one registered name, so such a block's field is
    /// registered under a dot-free placeholder and then moved under nested <c>ModelGen.Nn.StatePath</c> containers, which yields the
    /// dotted state_dict keys (see docs/attributes.md).
    /// </summary>
    internal static class DottedStateNames
    {
        /// <summary>Whether the block's state name has more than one level.</summary>
        public static bool IsDotted(BlockSpec block) => block.StateName.IndexOf('.') >= 0;

        /// <summary>The name the field is registered under by <c>RegisterComponents</c>: the state name, or a placeholder when dotted.</summary>
        public static string RegisteredName(BlockSpec block) =>
            IsDotted(block) ? "mg$" + block.StateName.Replace('.', '$') : block.StateName;

        /// <summary>After <c>RegisterComponents</c>: one <c>StatePath.Attach</c> per dotted block, in declaration order.</summary>
        public static void WriteAttach(CodeWriter w, LayerSpec spec, Func<BlockSpec, string> field)
        {
            foreach (var block in spec.Blocks)
            {
                if (!IsDotted(block))
                    continue;
                w.Line($"global::ModelGen.Nn.StatePath.Attach(this, {Literals.String(RegisteredName(block))}, {Literals.String(block.StateName)}, {field(block)}); // dotted [StateName]");
            }
        }
    }
}
