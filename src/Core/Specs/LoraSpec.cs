namespace ModelGen.Specs
{
    /// <summary>
    /// Low-rank adapters (Hu et al. 2021) on the Linear projections of a layer's scope, from <c>[LoRA]</c>: the runtime's
    /// <c>LoraOptions</c>. A model with any LoRA scope trains only its adapters: every base parameter is frozen.
    /// </summary>
    /// <param name="Rank">Rank r of the update B·A.</param>
    /// <param name="Alpha">The update is scaled by Alpha / Rank.</param>
    /// <param name="Dropout">Drop probability on the adapter input in training.</param>
    /// <param name="Targets">PEFT <c>target_modules</c> names (<c>q_proj</c>, <c>gate_proj</c>, a Linear's state name); empty = every Linear in scope.</param>
    public sealed record LoraSpec(int Rank, double Alpha, double Dropout, EquatableArray<string> Targets);
}
