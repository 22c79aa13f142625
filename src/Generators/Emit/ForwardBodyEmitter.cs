using System.Collections.Generic;
using System.Linq;
using ModelGen.Memory;
using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>
    /// Writes the analyzed <c>Forward</c> body of a layer (<see cref="LayerSpec.Body"/>) as a C# expression for the generated
    /// <c>DescribeModel(config)</c>, with every size read from the config instance, so the runtime planner and the tool walk the
    /// same ops as the analyzers, at the sizes the program runs with.
    /// </summary>
    internal static class ForwardBodyEmitter
    {
        private const string Memory = "global::ModelGen.Memory.";
        private const string Specs = "global::ModelGen.Specs.";

        /// <summary>The <c>Body = …</c> initializer line of a layer spec, or nothing when the layer has no analyzed body.</summary>
        public static string Initializer(LayerSpec spec) =>
            spec.Body is { } body ? $"            Body = {Body(body)},\n" : "";

        // One call per line: a reviewer reads the body's order and each op's saved tensors in the generated file.
        private static string Body(ForwardBody body) =>
            $"new {Memory}ForwardBody({Specs}EquatableArray.Create<{Memory}ForwardCall>(\n                "
            + string.Join(",\n                ", body.Calls.Select(Call)) + "))";

        private static string Call(ForwardCall call) => call.Op is { } op
            ? $"new {Memory}ForwardCall(null, new {Memory}ForwardOp({Literals.String(op.Call)}, {Array("ForwardTensor", op.Saved.Select(Tensor), Memory)}, "
              + $"{Array("ForwardTensor", op.Temporaries.Select(Tensor), Memory)}, {Literals.Bool(op.Estimated)}, {Dims(op.Repeats)}))"
            : $"new {Memory}ForwardCall({Literals.String(call.Block ?? "")}, null)" + (call.Repeats.Count > 0 ? $" {{ Repeats = {Dims(call.Repeats)} }}" : "");

        private static string Tensor(ForwardTensor t) =>
            $"new {Memory}ForwardTensor({Literals.String(t.Name)}, {Dims(t.Factors)}, {Dims(t.Divisors)}, {t.BatchPower}, {t.SequencePower}, "
            + $"{Memory}ForwardElement.{t.Element}, {Literals.Bool(t.Sharded)})";

        private static string Dims(EquatableArray<Dim> dims)
        {
            // A loop rather than Select over Dim, a struct: LINQ's iterator over it would be compiled just in time in the compiler.
            var items = new List<string>(dims.Count);
            for (var i = 0; i < dims.Count; i++)
                items.Add(Dim(dims[i]));
            return Array("Dim", items, Specs);
        }

        private static string Dim(Dim dim) => dim.Member is null
            ? $"{Specs}Dim.Literal({Literals.Long(dim.Value)})"
            : $"new {Specs}Dim({Literals.String(dim.Member)}, config.{Literals.Identifier(dim.Member)})";

        private static string Array(string type, IEnumerable<string> items, string ns) =>
            $"{Specs}EquatableArray.Create<{ns}{type}>({string.Join(", ", items)})";
    }
}
