using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ModelGen.Diagnostics;
using ModelGen.Specs;

namespace ModelGen.Parsing
{
    /// <summary>Turns one block property (a partial property with a block attribute) into a <see cref="BlockSpec"/>.</summary>
    internal sealed partial class BlockParser
    {
        private static readonly string[] BlockAttributes =
        {
            KnownNames.LinearAttribute, KnownNames.EmbeddingAttribute, KnownNames.LayerNormAttribute, KnownNames.RmsNormAttribute,
            KnownNames.DropoutAttribute, KnownNames.AttentionAttribute, KnownNames.FeedForwardAttribute, KnownNames.SublayerAttribute,
            KnownNames.StackAttribute, KnownNames.PoolerAttribute,
            KnownNames.MixtureOfExpertsAttribute,
            KnownNames.CrossAttentionAttribute, KnownNames.RelativeAttentionAttribute,
        };

        private static readonly SymbolDisplayFormat TypeFormat = SymbolDisplayFormat.FullyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        private readonly Compilation _compilation;
        private readonly INamedTypeSymbol _owner;
        private readonly ConfigReader? _config;
        private readonly string _configType;
        private readonly List<DiagnosticInfo> _diagnostics;
        private readonly List<INamedTypeSymbol> _usedLayers;
        private string _property = "";

        public BlockParser(Compilation compilation, INamedTypeSymbol owner, ConfigReader? config, string configType, List<DiagnosticInfo> diagnostics, List<INamedTypeSymbol> usedLayers)
        {
            _compilation = compilation;
            _owner = owner;
            _config = config;
            _configType = configType;
            _diagnostics = diagnostics;
            _usedLayers = usedLayers;
        }

        /// <summary>True when the property carries any block attribute.</summary>
        public static bool IsBlock(IPropertySymbol property) =>
            property.GetAttributes().Any(a => BlockAttributes.Any(name => AttributeReader.Is(a, name)));

        public BlockSpec? Parse(IPropertySymbol property)
        {
            var attributes = property.GetAttributes().Where(a => BlockAttributes.Any(name => AttributeReader.Is(a, name))).ToList();
            var location = LocationInfo.From(property.Locations.FirstOrDefault());
            if (attributes.Count > 1)
            {
                var names = string.Join(", ", attributes.Select(a => a.AttributeClass!.Name.Replace("Attribute", "")));
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.SeveralBlockAttributes, location, property.Name, names));
                return null;
            }
            var syntax = property.DeclaringSyntaxReferences.Select(r => r.GetSyntax()).OfType<PropertyDeclarationSyntax>().FirstOrDefault();
            if (!property.IsPartialDefinition || property.IsStatic || property.SetMethod is not null || property.GetMethod is null
                || property.ReturnsByRef || property.ReturnsByRefReadonly || property.IsIndexer || property.ExplicitInterfaceImplementations.Length > 0)
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BlockNotPartialProperty, location, property.Name));
                return null;
            }

            var attribute = attributes[0];
            var name = property.Name;
            _property = name;
            var stateName = Naming.ToSnakeCase(name);
            if (AttributeReader.Find(property, KnownNames.StateNameAttribute) is { } stateAttribute)
            {
                var explicitName = AttributeReader.Argument(stateAttribute, 0).Value as string;
                var problem = explicitName is null or "" ? "must not be empty"
                    : explicitName.StartsWith(".", System.StringComparison.Ordinal) || explicitName.EndsWith(".", System.StringComparison.Ordinal)
                        ? "must not start or end with '.': each level of a dotted name (attention.self.query) needs text"
                    : explicitName.IndexOf("..", System.StringComparison.Ordinal) >= 0 ? "must not contain '..': each level of a dotted name (attention.self.query) needs text"
                    : null;
                if (problem is not null)
                {
                    _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadStateName, LocationInfo.From(AttributeReader.LocationOf(stateAttribute)) ?? location,
                        name, Generators.Emit.Literals.String(explicitName ?? ""), problem));
                    return null;
                }
                stateName = explicitName!;
            }
            var quant = ReadQuant(property, location);
            var precision = ReadEnum<DType>(property, KnownNames.PrecisionAttribute, location);
            var shard = ReadEnum<ShardStyle>(property, KnownNames.ShardAttribute, location);
            var block = ReadKind(property, attribute, name, stateName, quant);
            if (block is null || quant is { Kind: < 0 } || precision is { Defined: false } || shard is { Defined: false })
                return null;

            if (!CheckType(property, attribute, block, quant, location))
                return null;
            if (AttributeReader.Find(property, KnownNames.HeadAttribute) is { } headAttribute)
            {
                var headLocation = LocationInfo.From(AttributeReader.LocationOf(headAttribute)) ?? location;
                if (AttributeReader.Argument(headAttribute, 0).Value is not int kind || !System.Enum.IsDefined(typeof(HeadKind), kind))
                {
                    _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadArgument, headLocation, name, $"{AttributeReader.Argument(headAttribute, 0).Value} is not a HeadKind value"));
                    return null;
                }
                if (block is not LinearSpec linear)
                {
                    _diagnostics.Add(DiagnosticInfo.Create(Descriptors.HeadNotLinear, headLocation, name, attribute.AttributeClass!.Name.Replace("Attribute", "")));
                    return null;
                }
                block = linear with { Head = (HeadKind)kind };
            }

            return block with
            {
                Precision = precision?.Value,
                Shard = shard?.Value ?? ShardStyle.None,
                Quant = quant,
                Frozen = AttributeReader.Find(property, KnownNames.FrozenAttribute) is not null,
                TiedTo = AttributeReader.Find(property, KnownNames.TiedToAttribute) is { } tie ? AttributeReader.Argument(tie, 0).Value as string : null,
                PropertyType = property.Type.ToDisplayString(TypeFormat),
                PropertyModifiers = syntax is null ? "" : string.Join(" ", ModifierText.Of(syntax.Modifiers, withoutPartial: true)),
            };
        }

        private BlockSpec? ReadKind(IPropertySymbol property, AttributeData attribute, string name, string stateName, QuantSpec? quant)
        {
            var location = AttributeReader.LocationOf(attribute);
            switch (attribute.AttributeClass!.ToDisplayString())
            {
                case KnownNames.LinearAttribute:
                {
                    var input = ReadDim(AttributeReader.Argument(attribute, 0), location);
                    var output = ReadDim(AttributeReader.Argument(attribute, 1), location);
                    return input is null || output is null ? null : new LinearSpec(name, stateName, input.Value, output.Value, AttributeReader.Named(attribute, "Bias", true));
                }
                case KnownNames.PoolerAttribute:
                {
                    var hidden = ReadDim(AttributeReader.Argument(attribute, 0), location);
                    return hidden is null ? null : new PoolerSpec(name, stateName, hidden.Value);
                }
                case KnownNames.EmbeddingAttribute:
                {
                    var count = ReadDim(AttributeReader.Argument(attribute, 0), location);
                    var width = ReadDim(AttributeReader.Argument(attribute, 1), location);
                    var role = (EmbeddingRole)AttributeReader.NamedEnum(attribute, "Role", (int)EmbeddingRole.Tokens);
                    if (!System.Enum.IsDefined(typeof(EmbeddingRole), role))
                    {
                        _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadArgument, LocationInfo.From(location), _property, $"{(int)role} is not an EmbeddingRole value"));
                        return null;
                    }
                    return count is null || width is null ? null : new EmbeddingSpec(name, stateName, count.Value, width.Value) { Role = role };
                }
                case KnownNames.LayerNormAttribute:
                {
                    var hidden = ReadDim(AttributeReader.Argument(attribute, 0), location);
                    return hidden is null ? null : new LayerNormSpec(name, stateName, hidden.Value, AttributeReader.Named(attribute, "Eps", 1e-5), AttributeReader.Named(attribute, "Bias", true));
                }
                case KnownNames.RmsNormAttribute:
                {
                    var hidden = ReadDim(AttributeReader.Argument(attribute, 0), location);
                    return hidden is null ? null : new RmsNormSpec(name, stateName, hidden.Value, AttributeReader.Named(attribute, "Eps", 1e-6));
                }
                case KnownNames.DropoutAttribute:
                    return new DropoutSpec(name, stateName, AttributeReader.Argument(attribute, 0).Value is double p ? p : 0);
                case KnownNames.AttentionAttribute:
                {
                    var hidden = ReadDim(AttributeReader.Argument(attribute, 0), location);
                    var heads = ReadDim(AttributeReader.Argument(attribute, 1), location);
                    var kvText = AttributeReader.NamedString(attribute, "KvHeads");
                    var kvHeads = kvText is null ? heads : ReadDim(kvText, location);
                    if (hidden is null || heads is null || kvHeads is null)
                        return null;
                    var window = AttributeReader.Named(attribute, "SlidingWindow", 0);
                    var causal = AttributeReader.Named(attribute, "Causal", true);
                    if (window < 0 || (window > 0 && !causal))
                    {
                        _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadArgument, LocationInfo.From(location), _property,
                            window < 0 ? $"SlidingWindow = {window} must be positive (0 for none)" : "SlidingWindow needs causal attention (a window looks back from each query)"));
                        return null;
                    }
                    return new AttentionSpec(
                        name, stateName, hidden.Value, heads.Value, kvHeads.Value,
                        Causal: AttributeReader.Named(attribute, "Causal", true),
                        Rotary: AttributeReader.Named(attribute, "Rotary", false),
                        RopeTheta: AttributeReader.Named(attribute, "RopeTheta", 10000.0),
                        Fused: AttributeReader.Named(attribute, "Fused", true),
                        Bias: AttributeReader.Named(attribute, "Bias", false),
                        DropoutP: AttributeReader.Named(attribute, "Dropout", 0.0)) { SlidingWindow = window > 0 ? window : null };
                }
                case KnownNames.FeedForwardAttribute:
                {
                    var hidden = ReadDim(AttributeReader.Argument(attribute, 0), location);
                    var inner = ReadDim(AttributeReader.Argument(attribute, 1), location);
                    var activation = (FeedForwardActivation)AttributeReader.NamedEnum(attribute, "Activation", (int)FeedForwardActivation.Gelu);
                    if (!System.Enum.IsDefined(typeof(FeedForwardActivation), activation))
                    {
                        _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadArgument, LocationInfo.From(location), _property,
                            $"{(int)activation} is not a FeedForwardActivation value"));
                        return null;
                    }
                    return hidden is null || inner is null
                        ? null
                        : new FeedForwardSpec(name, stateName, hidden.Value, inner.Value, activation, AttributeReader.Named(attribute, "Bias", true));
                }
                case KnownNames.MixtureOfExpertsAttribute:
                    return ReadMixtureOfExperts(attribute, name, stateName, location); // BlockParser.MixtureOfExperts.cs
                case KnownNames.SublayerAttribute:
                {
                    var layer = UseLayer(property, property.Type as INamedTypeSymbol);
                    return layer is null ? null : new LayerRefSpec(name, stateName, layer);
                }
                case KnownNames.StackAttribute:
                {
                    var count = ReadDim(AttributeReader.Argument(attribute, 0), location);
                    var element = property.Type is INamedTypeSymbol { IsGenericType: true } list
                        && list.ConstructedFrom.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat) == "global::TorchSharp.Modules.ModuleList<T>"
                        ? list.TypeArguments[0] as INamedTypeSymbol
                        : null;
                    if (element is null)
                    {
                        _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BlockTypeMismatch, LocationInfo.From(property.Locations.FirstOrDefault()),
                            property.Name, property.Type.ToDisplayString(), "Stack", "ModuleList<TLayer>"));
                        return null;
                    }
                    var layer = UseLayer(property, element);
                    var every = AttributeReader.Find(property, KnownNames.CheckpointAttribute) is { } checkpoint ? AttributeReader.Named(checkpoint, "Every", 1) : 0;
                    return count is null || layer is null ? null : new StackSpec(name, stateName, count.Value, layer, every);
                }
                case KnownNames.CrossAttentionAttribute:
                case KnownNames.RelativeAttentionAttribute:
                    return ReadEncoderDecoder(attribute, name, stateName, location); // BlockParser.EncoderDecoder.cs
                default:
                    return null;
            }
        }

        /// <summary>An enum attribute argument, with <c>Defined</c> false (and MG0112 reported) for a value the enum does not name.</summary>
        private (TEnum Value, bool Defined)? ReadEnum<TEnum>(IPropertySymbol property, string attributeName, LocationInfo? location) where TEnum : struct, System.Enum
        {
            if (AttributeReader.Find(property, attributeName) is not { } attribute || AttributeReader.Argument(attribute, 0).Value is not int value)
                return null;
            if (System.Enum.IsDefined(typeof(TEnum), value))
                return ((TEnum)(object)value, true);
            _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadArgument, LocationInfo.From(AttributeReader.LocationOf(attribute)) ?? location,
                property.Name, $"{value} is not a {typeof(TEnum).Name} value"));
            return (default, false);
        }

        private QuantSpec? ReadQuant(IPropertySymbol property, LocationInfo? location)
        {
            if (AttributeReader.Find(property, KnownNames.QuantizeAttribute) is not { } attribute
                || AttributeReader.Argument(attribute, 0).Value is not int kindValue)
                return null;
            if (!System.Enum.IsDefined(typeof(QuantKind), kindValue))
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadArgument, LocationInfo.From(AttributeReader.LocationOf(attribute)) ?? location,
                    property.Name, $"{kindValue} is not a QuantKind value"));
                return new QuantSpec((QuantKind)(-1), 0, false);
            }
            var kind = (QuantKind)kindValue;
            var group = AttributeReader.Named(attribute, "GroupSize", 0);
            if (group == 0)
                group = kind switch { QuantKind.Int4 => 128, QuantKind.NF4 => 64, _ => 0 };
            return kind == QuantKind.None ? null : new QuantSpec(kind, group, AttributeReader.Named(attribute, "DoubleQuant", false));
        }

        private string? UseLayer(IPropertySymbol property, INamedTypeSymbol? type)
        {
            var location = LocationInfo.From(property.Locations.FirstOrDefault());
            if (type is null || (AttributeReader.Find(type, KnownNames.LayerAttribute) ?? AttributeReader.Find(type, KnownNames.ModelAttribute)) is not { } layerAttribute)
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.NotALayer, location, property.Name, type?.ToDisplayString() ?? property.Type.ToDisplayString()));
                return null;
            }
            var problem = !ClassShape.IsPartial(type) ? "it is not partial" : ClassShape.ModuleProblem(type);
            if (problem is not null)
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.SublayerNotGeneratable, location, property.Name, type.ToDisplayString(), problem));
                return null;
            }
            var childConfig = (AttributeReader.Argument(layerAttribute, 0).Value as ITypeSymbol)?.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            if (childConfig is not null && childConfig != _configType)
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.ConfigMismatch, location, property.Name, type.Name, childConfig,
                    property.ContainingType.Name, _configType));
                return null;
            }
            _usedLayers.Add(type);
            return type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        }

        private Dim? ReadDim(TypedConstant argument, Location? location)
        {
            switch (argument.Value)
            {
                case int literal:
                    return Dim.Literal(literal);
                case long literal:
                    return Dim.Literal(literal);
                case string member:
                    return ReadDim(member, location);
                default:
                    _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BadArgument, LocationInfo.From(location), _property,
                        $"a size must be a config member name (nameof(Config.Member)) or an int literal, not '{argument.Value ?? "null"}'"));
                    return null;
            }
        }

        private Dim? ReadDim(string member, Location? location)
        {
            if (long.TryParse(member, NumberStyles.Integer, CultureInfo.InvariantCulture, out var literal))
                return Dim.Literal(literal);
            if (_config is null)
                return null; // the config type itself is missing; reported once by the layer parser
            if (!_config.HasMember(member))
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.UnknownConfigMember, LocationInfo.From(location), member, _config.Config.Name));
                return null;
            }
            if (_config.UnusableReason(member, _owner, out var isStatic) is { } reason)
            {
                _diagnostics.Add(DiagnosticInfo.Create(Descriptors.ConfigMemberNotUsable, LocationInfo.From(location), _config.Config.Name, member, reason));
                return null;
            }
            var value = _config.Value(member);
            if (value is null)
            {
                _diagnostics.Add(_config.Overflowed(member)
                    ? DiagnosticInfo.Create(Descriptors.SizeOverflow, LocationInfo.From(location), _config.Config.Name + "." + member, "its default overflows 64-bit arithmetic")
                    : DiagnosticInfo.Create(Descriptors.ConfigValueUnknown, LocationInfo.From(location), _config.Config.Name, member));
                return null;
            }
            // A constant or static member is the same for every config instance: the generated code uses its value.
            return isStatic ? Dim.Literal(value.Value) : new Dim(member, value.Value);
        }

        private bool CheckType(IPropertySymbol property, AttributeData attribute, BlockSpec block, QuantSpec? quant, LocationInfo? location)
        {
            // A Linear of a mixed-precision class is an AutocastLinear (docs/precision.md).
            var created = block is LinearSpec && quant is null && LayerParser.ComputeOf(_owner) is not null ? "ModelGen.AutocastLinear" : CreatedType(block, quant);
            if (created is null)
                return true; // sublayers and stacks were checked when read
            var createdSymbol = _compilation.GetTypeByMetadataName(created);
            if (createdSymbol is null)
                return true; // the runtime is not referenced: the compiler reports the missing types
            for (var type = createdSymbol; type is not null; type = type.BaseType)
            {
                if (SymbolEqualityComparer.Default.Equals(type, property.Type))
                    return true;
            }
            _diagnostics.Add(DiagnosticInfo.Create(Descriptors.BlockTypeMismatch, location, property.Name, property.Type.ToDisplayString(),
                attribute.AttributeClass!.Name.Replace("Attribute", ""), createdSymbol.ToDisplayString()));
            return false;
        }

        /// <summary>The metadata name of the module the generator creates for a block.</summary>
        public static string? CreatedType(BlockSpec block, QuantSpec? quant) => block switch
        {
            LinearSpec when quant is not null => "ModelGen.Quantization.QuantizedLinear",
            LinearSpec => "TorchSharp.Modules.Linear",
            EmbeddingSpec => "TorchSharp.Modules.Embedding",
            LayerNormSpec => "TorchSharp.Modules.LayerNorm",
            RmsNormSpec => "ModelGen.Nn.RmsNorm",
            DropoutSpec => "TorchSharp.Modules.Dropout",
            AttentionSpec => "ModelGen.Nn.Attention",
            FeedForwardSpec => "ModelGen.Nn.FeedForward",
            PoolerSpec => "ModelGen.Nn.Pooler",
            MixtureOfExpertsSpec => "ModelGen.Nn.MixtureOfExperts",
            CrossAttentionSpec => "ModelGen.Nn.CrossAttention",
            RelativeAttentionSpec => "ModelGen.Nn.RelativeAttention",
            _ => null,
        };

    }
}
