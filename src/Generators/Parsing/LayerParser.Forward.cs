using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using ModelGen.Diagnostics;
using ModelGen.Generators.Emit;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    public static partial class LayerParser
    {
        /// <summary><c>[Input]</c> on a forward parameter.</summary>
        private const string InputAttributeName = "ModelGen.InputAttribute";

        /// <summary>TorchSharp's <c>Module&lt;T1, …, T6, TResult&gt;</c> exists for one to six inputs.</summary>
        private const int MaxForwardInputs = 6;

        private static readonly SymbolDisplayFormat PlainFormat = SymbolDisplayFormat.FullyQualifiedFormat;

        /// <summary>
        /// The user's forward: <c>Tensor Forward(Tensor x)</c> when declared (the classic form wins over other overloads), else the
        /// one method named <c>Forward</c>, whose tensor inputs and tuple or record result become the module's type. Returns null when
        /// there is none (the caller reports MG0107) or it cannot be generated (reported here, MG0128–MG0133; <paramref name="reported"/>).
        /// </summary>
        private static ForwardSpec? ReadForward(INamedTypeSymbol type, ConfigReader? config, List<DiagnosticInfo> diagnostics, out bool reported)
        {
            reported = false;
            var methods = type.GetMembers("Forward").OfType<IMethodSymbol>().Where(m => m.MethodKind == MethodKind.Ordinary).ToList();
            var classic = methods.FirstOrDefault(IsClassicForward);
            if (classic is not null)
                return new ForwardSpec(classic.Name, classic.Parameters[0].Name);
            if (methods.Count == 0)
                return null;
            reported = true;
            if (methods.Count > 1)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.ForwardAmbiguous, LocationInfo.From(methods[1].Locations.FirstOrDefault()), type.Name, methods.Count));
                return null;
            }
            var method = methods[0];
            var location = LocationInfo.From(method.Locations.FirstOrDefault());
            var count = diagnostics.Count;
            if (method.IsStatic || method.IsGenericMethod)
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.ForwardShapeUnsupported, location, type.Name, method.Name,
                    method.IsStatic ? "static" : "generic"));
            var inputs = new List<ForwardInput>();
            foreach (var parameter in method.Parameters)
            {
                if (ReadInput(type, method, parameter, config, diagnostics) is { } input)
                    inputs.Add(input);
            }
            if (method.Parameters.Length == 0)
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.ForwardParameterUnsupported, location, type.Name, method.Name, "(none)",
                    "is missing: Forward takes at least one tensor"));
            else if (method.Parameters.Length > MaxForwardInputs)
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.ForwardTooManyInputs, location, type.Name, method.Name, method.Parameters.Length));
            var result = ReadResult(type, method, location, diagnostics, out var resultOk);
            if (diagnostics.Count > count || !resultOk)
                return null;
            for (var i = 1; i < inputs.Count; i++)
            {
                if (inputs[i].Size is null)
                    diagnostics.Add(DiagnosticInfo.Create(Descriptors.InputSizeUndeclared,
                        LocationInfo.From(method.Parameters[i].Locations.FirstOrDefault()), type.Name, method.Name, inputs[i].Name));
            }
            return new ForwardSpec(method.Name, method.Parameters[0].Name) { Inputs = inputs.ToEquatableArray(), Result = result };
        }

        private static bool IsClassicForward(IMethodSymbol method) =>
            !method.IsStatic && !method.IsGenericMethod && method.Parameters.Length == 1 && !method.ReturnsByRef && !method.ReturnsByRefReadonly
            && method.Parameters[0].RefKind == RefKind.None && !method.Parameters[0].IsParams && !method.Parameters[0].HasExplicitDefaultValue
            && IsTensor(method.ReturnType) && method.ReturnType.NullableAnnotation != NullableAnnotation.Annotated
            && IsTensor(method.Parameters[0].Type) && method.Parameters[0].NullableAnnotation != NullableAnnotation.Annotated;

        private static ForwardInput? ReadInput(INamedTypeSymbol type, IMethodSymbol method, IParameterSymbol parameter, ConfigReader? config, List<DiagnosticInfo> diagnostics)
        {
            var location = LocationInfo.From(parameter.Locations.FirstOrDefault());
            string? problem = parameter.RefKind != RefKind.None ? $"is passed by {parameter.RefKind.ToString().ToLowerInvariant()}; pass tensors by value"
                : parameter.IsParams ? "is params; list each input"
                : !IsTensor(parameter.Type) ? $"has type '{parameter.Type.ToDisplayString()}'; inputs are Tensor or Tensor? (sizes belong in the config, flags in properties)"
                : parameter.HasExplicitDefaultValue && parameter.ExplicitDefaultValue is not null ? "has a default other than null"
                : null;
            if (problem is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.ForwardParameterUnsupported, location, type.Name, method.Name, parameter.Name, problem));
                return null;
            }
            var optional = parameter.HasExplicitDefaultValue;
            var input = new ForwardInput(parameter.Name, optional || parameter.NullableAnnotation == NullableAnnotation.Annotated, optional);
            if (AttributeReader.Find(parameter, InputAttributeName) is not { } attribute)
                return input;
            var at = LocationInfo.From(AttributeReader.LocationOf(attribute)) ?? location;
            var shape = AttributeReader.Argument(attribute, 0).Value is int s && System.Enum.IsDefined(typeof(InputShape), s) ? (InputShape?)s : null;
            var bytes = AttributeReader.Named(attribute, "ElementBytes", 0);
            var widthText = AttributeReader.NamedString(attribute, "Width");
            Dim? width = Dim.Literal(0);
            string? error = shape is null ? "the shape is not an InputShape value"
                : bytes is not (0 or 1 or 2 or 4 or 8) ? $"ElementBytes = {bytes}; use 1, 2, 4 or 8 (0: the shape's default)"
                : shape == InputShape.Hidden && widthText is null ? "InputShape.Hidden needs Width (a config member or a literal)"
                : shape != InputShape.Hidden && widthText is not null ? $"Width applies to InputShape.Hidden only, not {shape}"
                : null;
            if (error is null && widthText is not null)
            {
                width = InputWidth(widthText, config);
                if (width is null)
                    error = config is null ? "the config type is not usable" : $"Width '{widthText}' is neither an integer nor a known integer member of '{config.Config.Name}'";
            }
            if (error is not null)
            {
                diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadInputSize, at, type.Name, method.Name, parameter.Name, error));
                return null;
            }
            return input with { Size = new InputSize(shape!.Value, width!.Value, bytes) };
        }

        private static Dim? InputWidth(string text, ConfigReader? config)
        {
            if (long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var literal))
                return literal > 0 ? Dim.Literal(literal) : null;
            return config is not null && config.HasMember(text) && config.Value(text) is { } value && value > 0 ? new Dim(text, value) : null;
        }

        /// <summary>The result: null for a tensor; a tuple of tensors or a record with tensor properties; otherwise MG0131.</summary>
        private static ForwardResult? ReadResult(INamedTypeSymbol type, IMethodSymbol method, LocationInfo? location, List<DiagnosticInfo> diagnostics, out bool ok)
        {
            ok = true;
            var result = method.ReturnType;
            string? problem = null;
            ForwardResult? spec = null;
            if (method.ReturnsByRef || method.ReturnsByRefReadonly)
                problem = "a ref return cannot be a module's output";
            else if (IsTensor(result))
                problem = result.NullableAnnotation == NullableAnnotation.Annotated ? "a module's output cannot be null; return Tensor" : null;
            else if (result is INamedTypeSymbol { IsTupleType: true } tuple)
            {
                var elements = tuple.TupleElements;
                problem = elements.Length > 7 ? "a tuple of more than 7 tensors; return a record"
                    : elements.FirstOrDefault(e => !IsTensor(e.Type)) is { } bad ? $"element '{bad.Name}' is '{bad.Type.ToDisplayString()}'; tuple elements are Tensor or Tensor?"
                    : null;
                spec = new ForwardResult(result.ToDisplayString(TypeFormat), true,
                    elements.Select((e, i) => new ResultMember("Item" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        e.Type.NullableAnnotation == NullableAnnotation.Annotated)).ToEquatableArray());
            }
            else if (result is INamedTypeSymbol { IsRecord: true } record)
            {
                var members = new List<ResultMember>();
                problem = RecordProblem(record, members);
                if (problem is null && members.Count == 0)
                    problem = "the record has no Tensor property";
                if (problem is null && Rank(EffectiveAccessibility(record)) < Rank(EffectiveAccessibility(type)))
                    problem = $"it is {EffectiveAccessibility(record)} but '{type.Name}' is more visible; the module's type names it";
                spec = new ForwardResult(result.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(TypeFormat), false, members.ToEquatableArray());
            }
            else
                problem = "the result is a Tensor, a tuple of tensors, or a record with Tensor properties";
            if (problem is null)
                return spec;
            ok = false;
            diagnostics.Add(DiagnosticInfo.Create(Descriptors.ForwardResultUnsupported, location, type.Name, method.Name, result.ToDisplayString(), problem));
            return null;
        }

        /// <summary>Why a record's tensors cannot be moved out and rebuilt (<c>with</c>), collecting its tensor properties.</summary>
        private static string? RecordProblem(INamedTypeSymbol record, List<ResultMember> members)
        {
            if (record.IsGenericType && record.TypeArguments.Any(a => a.TypeKind == TypeKind.TypeParameter))
                return "an open generic record";
            var seen = new HashSet<string>(System.StringComparer.Ordinal);
            for (var t = record; t is not null && t.SpecialType != SpecialType.System_Object; t = t.BaseType)
            {
                foreach (var member in t.GetMembers())
                {
                    if (member.IsStatic || member.IsImplicitlyDeclared && member is not IPropertySymbol || !seen.Add(member.Name))
                        continue;
                    var memberType = member switch { IPropertySymbol p => p.Type, IFieldSymbol { AssociatedSymbol: null } f => f.Type, _ => null };
                    if (memberType is null || !MentionsTensor(memberType))
                        continue;
                    if (!IsTensor(memberType))
                        return $"member '{member.Name}' is '{memberType.ToDisplayString()}'; only Tensor and Tensor? members are moved out of the forward's dispose scope";
                    if (member is not IPropertySymbol { SetMethod: { DeclaredAccessibility: Accessibility.Public } } property || property.IsIndexer)
                        return $"'{member.Name}' is not a property with a public set or init; the checkpointed forward rebuilds the record with 'with'";
                    members.Add(new ResultMember(member.Name, memberType.NullableAnnotation == NullableAnnotation.Annotated));
                }
            }
            return null;
        }

        private static bool MentionsTensor(ITypeSymbol type) => type switch
        {
            _ when IsTensor(type) => true,
            IArrayTypeSymbol array => MentionsTensor(array.ElementType),
            INamedTypeSymbol named => named.TypeArguments.Any(MentionsTensor),
            _ => false,
        };

        private static int Rank(string accessibility) => accessibility switch { "public" => 2, "internal" => 1, _ => 0 };
    }
}
