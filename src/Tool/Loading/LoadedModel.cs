using ModelGen.Specs;

namespace ModelGen.Tool.Loading
{
    /// <summary>A model found in a built assembly or read from a config, ready for the memory model.</summary>
    /// <param name="Name">The model class (or architecture) name.</param>
    /// <param name="Source">Where it came from, e.g. <c>Llama.dll: LlamaSample.Llama.DescribeModel(new LlamaConfig())</c>.</param>
    /// <param name="Spec">The model with the config's sizes.</param>
    /// <param name="MaxPositions">The longest sequence the model is made for, when known (a Hugging Face config says).</param>
    internal sealed record LoadedModel(string Name, string Source, ModelSpec Spec, long? MaxPositions = null);
}
