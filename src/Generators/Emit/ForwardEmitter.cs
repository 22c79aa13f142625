using System.Collections.Generic;
using System.Linq;
using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>
    /// The module type and <c>forward</c> of a layer whose <c>Forward</c> takes several tensors or returns a tuple or a record
    /// (docs/attributes.md, "Forward"): <c>Module&lt;T1, …, TResult&gt;</c>, floating inputs cast to the layer's precision (ids and
    /// masks pass unchanged), checkpointing through <c>ModelGen.ForwardCheckpoint</c>, every output tensor moved out of the scope.
    /// </summary>
    internal static class ForwardEmitter
    {
        private const string Tensor = "global::TorchSharp.torch.Tensor";

        /// <summary>The base type of the generated class, e.g. <c>Module&lt;Tensor, Tensor?, Output&gt;</c>.</summary>
        public static string BaseType(ForwardSpec forward) =>
            "global::TorchSharp.torch.nn.Module<" + string.Join(", ", forward.AllInputs.Select(InputType).Concat(new[] { ResultType(forward) })) + ">";

        /// <summary>The result type of the module's forward.</summary>
        public static string ResultType(ForwardSpec forward) => forward.Result?.Type ?? Tensor;

        /// <summary>The parameter list of the module's forward, optional inputs defaulting to null.</summary>
        public static string Parameters(ForwardSpec forward) =>
            string.Join(", ", forward.AllInputs.Select(input => $"{InputType(input)} {Literals.Identifier(input.Name)}" + (input.Optional ? " = null" : "")));

        private static string InputType(ForwardInput input) => input.Nullable ? Tensor + "?" : Tensor;

        /// <summary>Writes <c>forward</c> for a signature other than <c>Tensor Forward(Tensor)</c>.</summary>
        public static void WriteForward(CodeWriter w, LayerSpec spec)
        {
            var forward = spec.Forward;
            var inputs = forward.AllInputs;
            var names = inputs.Select(i => Literals.Identifier(i.Name)).ToList();
            // Locals and lambda parameters get names no user parameter has (a parameter may be called 'result').
            var taken = new HashSet<string>(inputs.Select(i => i.Name), System.StringComparer.Ordinal);
            string Fresh(string name)
            {
                while (!taken.Add(name))
                    name += "_";
                return name;
            }
            var result = Fresh("result");
            var given = Fresh("given");
            var outputs = Fresh("outputs");
            var ignored = Fresh("ignored");
            var method = "this." + Literals.Identifier(forward.MethodName);
            var parameters = Parameters(forward);
            string Cast(int i) => inputs[i].Nullable
                ? $"({names[i]} is null ? null : global::ModelGen.Precision.CastFloatingInput({names[i]}, this.StoragePrecision))"
                : $"global::ModelGen.Precision.CastFloatingInput({names[i]}, this.StoragePrecision)";
            var resultType = ResultType(forward);

            w.Line("/// <summary>Runs the user's forward in a dispose scope, floating-point inputs in this layer's precision (ids and masks unchanged), checkpointed when <see cref=\"CheckpointActivations\"/> is set; every output tensor is moved to the caller's scope.</summary>");
            w.Open($"public override {resultType} forward({parameters})");
            WriteZeroRouting(w, forward, names, given, outputs, ignored);
            w.Open("using (global::TorchSharp.torch.NewDisposeScope())");
            var direct = $"{method}({string.Join(", ", inputs.Select((_, i) => Cast(i)))})";
            var fromGiven = $"{method}({string.Join(", ", inputs.Select((input, i) => $"{given}[{i}]" + (input.Nullable ? "" : "!")))})";
            var array = $"new {Tensor}?[] {{ {string.Join(", ", inputs.Select((_, i) => Cast(i)))} }}";
            if (forward.Result is not { } shape)
            {
                // A single tensor out of several inputs.
                w.Line($"var {result} = this.CheckpointActivations");
                w.Line($"    ? global::ModelGen.ForwardCheckpoint.Run<{Tensor}>(this, {given} => {fromGiven}, {array},");
                w.Line($"        {outputs} => new {Tensor}?[] {{ {outputs} }}, ({ignored}, {outputs}) => {outputs}[0]!)");
                w.Line($"    : {direct};");
                w.Line($"return {result}.MoveToOuterDisposeScope();");
            }
            else
            {
                var members = shape.Members;
                string Member(string target, ResultMember m) => $"{target}.{Literals.Identifier(m.Name)}";
                var list = $"new {Tensor}?[] {{ {string.Join(", ", members.Select(m => Member(outputs, m)))} }}";
                var rebuilt = shape.IsTuple
                    ? "(" + string.Join(", ", members.Select((m, i) => $"{given}[{i}]" + (m.Nullable ? "" : "!"))) + ")"
                    : $"{outputs} with {{ {string.Join(", ", members.Select((m, i) => $"{Literals.Identifier(m.Name)} = {given}[{i}]" + (m.Nullable ? "" : "!")))} }}";
                w.Line($"var {result} = this.CheckpointActivations");
                w.Line($"    ? global::ModelGen.ForwardCheckpoint.Run<{resultType}>(this, {given} => {fromGiven}, {array},");
                w.Line($"        {outputs} => {list},");
                w.Line($"        ({outputs}, {given}) => {rebuilt})");
                w.Line($"    : {direct};");
                w.Line($"global::ModelGen.ForwardOutputs.MoveOut({string.Join(", ", members.Select(m => Member(result, m)))});");
                w.Line($"return {result};");
            }
            w.Close();
            w.Close();
        }

        /// <summary>
        /// The ZeRO-3 hook (docs/distributed.md): when a ZeRO-3 engine owns this layer, the call goes through it with every input
        /// (nulls included) and comes back here with the hook off, so the weights are gathered around the forward and its backward.
        /// </summary>
        private static void WriteZeroRouting(CodeWriter w, ForwardSpec forward, IReadOnlyList<string> names, string given, string outputs, string ignored)
        {
            var inputs = forward.AllInputs;
            var array = $"new {Tensor}?[] {{ {string.Join(", ", names)} }}";
            var call = $"this.call({string.Join(", ", inputs.Select((input, i) => $"{given}[{i}]" + (input.Nullable ? "" : "!")))})";
            string list, rebuilt;
            if (forward.Result is not { } shape)
            {
                list = $"new {Tensor}?[] {{ {outputs} }}";
                rebuilt = $"{outputs}[0]!";
                w.Line($"if (global::ModelGen.Training.ZeroRouting.Routes(this)) // ZeRO-3 gathers the weights around the call");
                w.Line($"    return global::ModelGen.Training.ZeroRouting.Forward<{Tensor}>(this, {array}, {given} => {call},");
                w.Line($"        {outputs} => {list}, ({ignored}, {outputs}) => {rebuilt});");
                return;
            }
            var members = shape.Members;
            list = $"new {Tensor}?[] {{ {string.Join(", ", members.Select(m => $"{outputs}.{Literals.Identifier(m.Name)}"))} }}";
            rebuilt = shape.IsTuple
                ? "(" + string.Join(", ", members.Select((m, i) => $"{given}[{i}]" + (m.Nullable ? "" : "!"))) + ")"
                : $"{outputs} with {{ {string.Join(", ", members.Select((m, i) => $"{Literals.Identifier(m.Name)} = {given}[{i}]" + (m.Nullable ? "" : "!")))} }}";
            w.Line($"if (global::ModelGen.Training.ZeroRouting.Routes(this)) // ZeRO-3 gathers the weights around the call");
            w.Line($"    return global::ModelGen.Training.ZeroRouting.Forward<{shape.Type}>(this, {array}, {given} => {call},");
            w.Line($"        {outputs} => {list}, ({outputs}, {given}) => {rebuilt});");
        }
    }
}
