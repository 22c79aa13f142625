using ModelGen.Specs;

namespace ModelGen.Memory
{
    /// <summary>
    /// A learned position table (<c>[Embedding(…, Role = EmbeddingRole.Positions)]</c>) has one row per position, so the model cannot
    /// run a longer sequence (GPT-2's 1024, BERT's 512): every estimate, search and budget stops at the smallest such table.
    /// </summary>
    public static class PositionCap
    {
        /// <summary>The smallest position table of <paramref name="model"/> (root or any layer), or null when it has none.</summary>
        /// <param name="model">The model.</param>
        /// <returns>Its row count and where it is declared.</returns>
        public static (long Positions, string Layer, string Block)? Find(ModelSpec model)
        {
            if (model is null)
                throw new System.ArgumentNullException(nameof(model));
            (long, string, string)? best = null;
            foreach (var layer in System.Linq.Enumerable.Prepend(model.Layers, model.Root))
            {
                foreach (var block in layer.Blocks)
                {
                    if (block is EmbeddingSpec { Role: EmbeddingRole.Positions } table && (best is null || table.Count.Value < best.Value.Item1))
                        best = (table.Count.Value, layer.Name, block.Name);
                }
            }
            return best;
        }

        /// <summary>The sentence MG0540 and the memory model's exception use.</summary>
        /// <param name="model">The model's name.</param>
        /// <param name="sequenceLength">The sequence length asked for.</param>
        /// <param name="cap">What <see cref="Find"/> returned.</param>
        public static string Describe(string model, long sequenceLength, (long Positions, string Layer, string Block) cap) =>
            $"'{model}' cannot run sequence length {sequenceLength}: its learned position table '{cap.Layer}.{cap.Block}' has {cap.Positions} rows, one per position, so sequences are at most {cap.Positions} tokens";
    }
}
