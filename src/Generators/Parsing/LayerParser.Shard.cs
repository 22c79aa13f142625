using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace ModelGen.Parsing
{
    public static partial class LayerParser
    {
        /// <summary>
        /// True when <paramref name="type"/> or a layer it uses (through [Sublayer] or [Stack], at any depth) has a <c>[Shard]</c>
        /// block: its generated constructor takes tensor-parallel options and hands them down.
        /// </summary>
        internal static bool ShardedInside(INamedTypeSymbol type)
        {
            var seen = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
            var pending = new Stack<INamedTypeSymbol>();
            pending.Push(type.OriginalDefinition);
            while (pending.Count > 0)
            {
                var layer = pending.Pop();
                if (!seen.Add(layer))
                    continue;
                if (HasShardedBlock(layer))
                    return true;
                foreach (var child in LayerGraph.Children(layer))
                    pending.Push(child.OriginalDefinition);
            }
            return false;
        }

        /// <summary>The [Sublayer] and [Stack] properties of <paramref name="type"/> whose layer takes tensor-parallel options.</summary>
        internal static IEnumerable<string> ShardedChildren(INamedTypeSymbol type)
        {
            foreach (var property in type.GetMembers().OfType<IPropertySymbol>())
            {
                INamedTypeSymbol? child = null;
                if (AttributeReader.Find(property, KnownNames.SublayerAttribute) is not null)
                    child = property.Type as INamedTypeSymbol;
                else if (AttributeReader.Find(property, KnownNames.StackAttribute) is not null
                         && property.Type is INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } list)
                    child = list.TypeArguments[0] as INamedTypeSymbol;
                if (child is not null && ShardedInside(child))
                    yield return property.Name;
            }
        }

        /// <summary>
        /// True when the model class <paramref name="model"/> has an output head that returns <c>V/t</c> logits under
        /// <c>TensorParallelOptions.VocabParallelLogits</c>: a Linear tied to a vocab-sharded Embedding, or a column-parallel
        /// Linear that no row-parallel Linear of the class consumes (by size, as <c>TensorParallelSupport.GathersOutput</c> pairs
        /// them: a size is the same when its attribute argument is the same config member or the same literal).
        /// </summary>
        internal static bool VocabParallelHead(INamedTypeSymbol model)
        {
            var properties = model.GetMembers().OfType<IPropertySymbol>().ToList();
            int Style(IPropertySymbol p) => AttributeReader.Find(p, KnownNames.ShardAttribute) is { } shard
                && AttributeReader.Argument(shard, 0).Value is int style ? style : 0;
            object? Size(IPropertySymbol p, int index) => AttributeReader.Find(p, KnownNames.LinearAttribute) is { } linear
                ? AttributeReader.Argument(linear, index).Value switch { int i => (long)i, long l => l, var v => v }
                : null;
            foreach (var head in properties.Where(p => AttributeReader.Find(p, KnownNames.LinearAttribute) is not null))
            {
                if (AttributeReader.Find(head, KnownNames.TiedToAttribute) is { } tie)
                {
                    var owner = AttributeReader.Argument(tie, 0).Value as string;
                    if (properties.Any(p => p.Name == owner && Style(p) == (int)ModelGen.ShardStyle.Vocab
                                            && AttributeReader.Find(p, KnownNames.EmbeddingAttribute) is not null))
                        return true;
                }
                else if (Style(head) == (int)ModelGen.ShardStyle.Column && Size(head, 1) is { } width
                         && !properties.Any(p => Style(p) == (int)ModelGen.ShardStyle.Row && Equals(Size(p, 0), width)))
                    return true;
            }
            return false;
        }

        private static bool HasShardedBlock(INamedTypeSymbol layer) =>
            layer.GetMembers().OfType<IPropertySymbol>().Any(p => AttributeReader.Find(p, KnownNames.ShardAttribute) is { } shard
                && AttributeReader.Argument(shard, 0).Value is int style && style != 0);
    }
}
