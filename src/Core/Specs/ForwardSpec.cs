namespace ModelGen.Specs
{
    /// <summary>
    /// The user's forward method: <c>Tensor Forward(Tensor x)</c>, or several tensor inputs and a tuple or record result
    /// (docs/attributes.md, "Forward"). Equality contract: value equality over every member; holds no Roslyn object.
    /// </summary>
    /// <param name="MethodName">Its name.</param>
    /// <param name="ParameterName">Name of its first tensor parameter.</param>
    public sealed record ForwardSpec(string MethodName, string ParameterName)
    {
        /// <summary>Every parameter in order; empty for the classic single input named <see cref="ParameterName"/>.</summary>
        public EquatableArray<ForwardInput> Inputs { get; init; }

        /// <summary>The result when it is a tuple or a record; null when it is one <c>Tensor</c>.</summary>
        public ForwardResult? Result { get; init; }

        /// <summary>True for <c>Tensor Forward(Tensor x)</c>: the module is a <c>Module&lt;Tensor, Tensor&gt;</c>.</summary>
        public bool IsSingleTensor => Result is null && (Inputs.Count == 0 || (Inputs.Count == 1 && !Inputs[0].Nullable));

        /// <summary>The inputs, with the classic form spelled out as one required input.</summary>
        public EquatableArray<ForwardInput> AllInputs => Inputs.Count > 0 ? Inputs : EquatableArray.Create(new ForwardInput(ParameterName, false, false));
    }

    /// <summary>One tensor parameter of the user's forward.</summary>
    /// <param name="Name">The parameter's name.</param>
    /// <param name="Nullable">Declared <c>Tensor?</c>: the caller may pass null.</param>
    /// <param name="Optional">Declared with <c>= null</c>: the caller may leave it out.</param>
    public sealed record ForwardInput(string Name, bool Nullable, bool Optional)
    {
        /// <summary>Its size for the memory model, from <c>[Input]</c>; null when undeclared (the first input then follows the layer's first block).</summary>
        public InputSize? Size { get; init; }
    }

    /// <summary>
    /// The size of a forward input as <c>[Input]</c> declares it: what an activation checkpoint keeps of it.
    /// </summary>
    /// <param name="Shape">Its shape in terms of the scenario's batch and sequence.</param>
    /// <param name="Width">The last dimension of <see cref="InputShape.Hidden"/>; a literal 0 otherwise.</param>
    /// <param name="ElementBytes">Bytes per element; 0 for the shape's default (int64 for tokens, the layer's precision for hidden, 1 for pairs).</param>
    public sealed record InputSize(InputShape Shape, Dim Width, int ElementBytes);

    /// <summary>The result of the user's forward when it is not one tensor.</summary>
    /// <param name="Type">Fully qualified type, with <c>global::</c> (a tuple is written <c>(global::…Tensor Logits, …)</c>).</param>
    /// <param name="IsTuple">A value tuple (members <c>Item1</c>…) rather than a record (members by property name).</param>
    /// <param name="Members">Its tensor members in declaration order; the generated forward moves each out of the dispose scope.</param>
    public sealed record ForwardResult(string Type, bool IsTuple, EquatableArray<ResultMember> Members);

    /// <summary>A tensor member of a tuple or record result.</summary>
    /// <param name="Name">Property name, or <c>Item1</c>… for a tuple.</param>
    /// <param name="Nullable">Declared <c>Tensor?</c>: the forward may leave it null (a loss without labels).</param>
    public sealed record ResultMember(string Name, bool Nullable);
}
