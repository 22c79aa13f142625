using System;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>The C# expression that rebuilds a <see cref="ForwardSpec"/> in <c>DescribeLayer</c> (sizes read from the config).</summary>
    internal static class ForwardSpecEmitter
    {
        private const string Specs = "global::ModelGen.Specs.";

        /// <summary>The expression; <paramref name="dim"/> writes a size as the spec emitter does.</summary>
        public static string Expression(ForwardSpec forward, Func<Dim, string> dim)
        {
            var head = $"new {Specs}ForwardSpec({Literals.String(forward.MethodName)}, {Literals.String(forward.ParameterName)})";
            if (forward.Inputs.Count == 0 && forward.Result is null)
                return head;
            var inputs = string.Join(", ", forward.Inputs.Select(i => Input(i, dim)));
            var result = forward.Result is { } r
                ? $"new {Specs}ForwardResult({Literals.String(r.Type)}, {Literals.Bool(r.IsTuple)}, {Specs}EquatableArray.Create<{Specs}ResultMember>({string.Join(", ", r.Members.Select(m => $"new {Specs}ResultMember({Literals.String(m.Name)}, {Literals.Bool(m.Nullable)})"))}))"
                : "null";
            return $"{head} {{ Inputs = {Specs}EquatableArray.Create<{Specs}ForwardInput>({inputs}), Result = {result} }}";
        }

        private static string Input(ForwardInput input, Func<Dim, string> dim)
        {
            var head = $"new {Specs}ForwardInput({Literals.String(input.Name)}, {Literals.Bool(input.Nullable)}, {Literals.Bool(input.Optional)})";
            return input.Size is { } size
                ? $"{head} {{ Size = new {Specs}InputSize({Literals.Enum(size.Shape)}, {dim(size.Width)}, {size.ElementBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)}) }}"
                : head;
        }
    }
}
