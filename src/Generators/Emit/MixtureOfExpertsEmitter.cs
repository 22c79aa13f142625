using ModelGen.Specs;

namespace ModelGen.Generators.Emit
{
    /// <summary>The constructor and spec expressions of a <c>[MixtureOfExperts]</c> block (docs/moe.md).</summary>
    internal static class MixtureOfExpertsEmitter
    {
        /// <summary>Creates <c>ModelGen.Nn.MixtureOfExperts</c> with parameters of <paramref name="scalar"/> (a ScalarType expression).</summary>
        public static string Create(MixtureOfExpertsSpec m, string scalar) =>
            $"new global::ModelGen.Nn.MixtureOfExperts({BlockEmitter.Size(m.Hidden)}, {BlockEmitter.Size(m.Inner)}, {BlockEmitter.Size(m.Experts)}, topK: {BlockEmitter.Size(m.TopK)}, activation: {Literals.Enum(m.Activation)}, capacityFactor: {Literals.Number(m.CapacityFactor)}, dtype: {scalar}, device: {BlockEmitter.Device})";

        /// <summary>Rebuilds the spec at run time from the config; <paramref name="head"/> is its name and state name, <paramref name="dim"/> writes a size.</summary>
        public static string Spec(MixtureOfExpertsSpec m, string head, System.Func<Dim, string> dim) =>
            $"new global::ModelGen.Specs.MixtureOfExpertsSpec({head}, {dim(m.Hidden)}, {dim(m.Inner)}, {dim(m.Experts)}, {dim(m.TopK)}, {Literals.Enum(m.Activation)}, {Literals.Number(m.CapacityFactor)})";
    }
}
