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

        private static bool HasShardedBlock(INamedTypeSymbol layer) =>
            layer.GetMembers().OfType<IPropertySymbol>().Any(p => AttributeReader.Find(p, KnownNames.ShardAttribute) is { } shard
                && AttributeReader.Argument(shard, 0).Value is int style && style != 0);
    }
}
