using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>
    /// What the generator writes for a class it cannot generate: a compilable shell whose members throw, so the user's only
    /// errors are ModelGen's own diagnostics instead of "partial property has no implementation" (CS9248) and its kin.
    /// Equality contract: value equality over every member; holds no Roslyn object.
    /// </summary>
    /// <param name="Namespace">Containing namespace (unescaped, dotted), empty for the global namespace.</param>
    /// <param name="Declarations">The type's declaration headers from the outermost containing type inward, e.g. <c>partial class Outer</c>, <c>partial class Block&lt;T&gt;</c>.</param>
    /// <param name="Properties">The block properties the user declared as partial definitions.</param>
    /// <param name="Module">The module surface (base type, constructor, forward…), when the class has a shape that can carry it.</param>
    /// <param name="Message">The exception message of every member: the MG id and what is wrong.</param>
    public sealed record ShellSpec(
        string Namespace,
        EquatableArray<string> Declarations,
        EquatableArray<ShellProperty> Properties,
        ShellModule? Module,
        string Message);

    /// <summary>A partial property definition to implement with a throwing body.</summary>
    /// <param name="Header">Everything before the accessor list: modifiers, <c>partial</c>, ref kind, type and name.</param>
    /// <param name="Accessors">The accessors of the definition: <c>get</c>, <c>set</c>, <c>init</c>.</param>
    public sealed record ShellProperty(string Header, EquatableArray<string> Accessors);

    /// <summary>The module surface of a shell: what other code (a parent layer, the user's program) calls on a generated module.</summary>
    /// <param name="Name">The class name (unescaped).</param>
    /// <param name="ConfigType">Fully qualified config type.</param>
    /// <param name="Accessibility">Accessibility of members that take the config (<c>public</c>, or <c>internal</c> when the config is not public).</param>
    /// <param name="IsModel">True for a [Model]: it also gets <c>DescribeModel</c>.</param>
    /// <param name="Omitted">Generated members left out because the user declares a member of that name.</param>
    public sealed record ShellModule(string Name, string ConfigType, string Accessibility, bool IsModel, EquatableArray<string> Omitted)
    {
        /// <summary>The user's forward when it is not <c>Tensor Forward(Tensor)</c>: the shell then has its module type and forward.</summary>
        public ForwardSpec? Forward { get; init; }
    }
}
