using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace ModelGen.Parsing
{
    /// <summary>
    /// The graph of layer classes ([Sublayer] and [Stack] edges) of one compilation, for finding layers that contain themselves.
    /// Strongly connected components are computed once per compilation (Tarjan 1972, iteratively, so a chain of thousands of
    /// layers cannot overflow the stack), each class visited once, so checking every class costs linear time in all.
    /// </summary>
    internal sealed class LayerGraph
    {
        private static readonly ConditionalWeakTable<Compilation, LayerGraph> PerCompilation = new();
        private readonly Dictionary<INamedTypeSymbol, List<INamedTypeSymbol>?> _cycles = new(SymbolEqualityComparer.Default);
        private readonly object _gate = new();

        /// <summary>The graph of <paramref name="compilation"/>.</summary>
        public static LayerGraph Of(Compilation compilation) => PerCompilation.GetValue(compilation, static _ => new LayerGraph());

        /// <summary>
        /// The cycle through <paramref name="type"/> as text (<c>A → B → A</c>), or null when no chain of layers leads back to it.
        /// </summary>
        public string? CycleThrough(INamedTypeSymbol type)
        {
            lock (_gate)
            {
                if (!_cycles.ContainsKey(type))
                    Compute(type);
                return _cycles[type] is { } component ? Describe(type, component) : null;
            }
        }

        /// <summary>The layer classes <paramref name="type"/> uses through [Sublayer] and [Stack] properties, in declaration order.</summary>
        public static IEnumerable<INamedTypeSymbol> Children(INamedTypeSymbol type)
        {
            foreach (var property in type.GetMembers().OfType<IPropertySymbol>())
            {
                foreach (var attribute in property.GetAttributes())
                {
                    INamedTypeSymbol? child = null;
                    if (AttributeReader.Is(attribute, KnownNames.SublayerAttribute))
                        child = property.Type as INamedTypeSymbol;
                    else if (AttributeReader.Is(attribute, KnownNames.StackAttribute)
                             && property.Type is INamedTypeSymbol { IsGenericType: true, TypeArguments.Length: 1 } list)
                        child = list.TypeArguments[0] as INamedTypeSymbol;
                    if (child is not null && IsLayerClass(child))
                        yield return child.OriginalDefinition;
                }
            }
        }

        /// <summary>True for a class carrying [Layer] or [Model].</summary>
        public static bool IsLayerClass(INamedTypeSymbol type) =>
            type.GetAttributes().Any(a => AttributeReader.Is(a, KnownNames.LayerAttribute) || AttributeReader.Is(a, KnownNames.ModelAttribute));

        private void Compute(INamedTypeSymbol start)
        {
            var index = new Dictionary<INamedTypeSymbol, int>(SymbolEqualityComparer.Default);
            var low = new Dictionary<INamedTypeSymbol, int>(SymbolEqualityComparer.Default);
            var onStack = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
            var stack = new Stack<INamedTypeSymbol>();
            // The depth-first walk's frames: a node and the children still to visit, in two stacks pushed and popped together
            // (a stack of tuples would be a struct instantiation compiled just in time in every compiler process).
            var work = new Stack<INamedTypeSymbol>();
            var workChildren = new Stack<IEnumerator<INamedTypeSymbol>>();
            var selfEdges = new HashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
            var next = 0;

            void Enter(INamedTypeSymbol node)
            {
                index[node] = low[node] = next++;
                stack.Push(node);
                onStack.Add(node);
                var children = Children(node).ToList();
                if (children.Any(c => SymbolEqualityComparer.Default.Equals(c, node)))
                    selfEdges.Add(node);
                work.Push(node);
                workChildren.Push(children.GetEnumerator());
            }

            Enter(start);
            while (work.Count > 0)
            {
                var node = work.Peek();
                var children = workChildren.Peek();
                if (children.MoveNext())
                {
                    var child = children.Current;
                    if (_cycles.ContainsKey(child))
                        continue; // settled by an earlier computation: not part of any component still open
                    if (!index.ContainsKey(child))
                        Enter(child);
                    else if (onStack.Contains(child))
                        low[node] = System.Math.Min(low[node], index[child]);
                    continue;
                }
                work.Pop();
                workChildren.Pop();
                if (work.Count > 0)
                {
                    var parent = work.Peek();
                    low[parent] = System.Math.Min(low[parent], low[node]);
                }
                if (low[node] != index[node])
                    continue;
                var component = new List<INamedTypeSymbol>();
                INamedTypeSymbol member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (!SymbolEqualityComparer.Default.Equals(member, node));
                var cyclic = component.Count > 1 || selfEdges.Contains(node);
                foreach (var type in component)
                    _cycles[type] = cyclic ? component : null;
            }
        }

        /// <summary>A shortest path from <paramref name="type"/> back to itself inside its component, by breadth-first search.</summary>
        private static string Describe(INamedTypeSymbol type, List<INamedTypeSymbol> component)
        {
            var members = new HashSet<INamedTypeSymbol>(component, SymbolEqualityComparer.Default);
            var parent = new Dictionary<INamedTypeSymbol, INamedTypeSymbol>(SymbolEqualityComparer.Default);
            var queue = new Queue<INamedTypeSymbol>();
            queue.Enqueue(type);
            while (queue.Count > 0)
            {
                var node = queue.Dequeue();
                foreach (var child in Children(node))
                {
                    if (!members.Contains(child))
                        continue;
                    if (SymbolEqualityComparer.Default.Equals(child, type))
                    {
                        var path = new List<string> { type.Name };
                        for (var at = node; !SymbolEqualityComparer.Default.Equals(at, type); at = parent[at])
                            path.Add(at.Name);
                        path.Add(type.Name);
                        path.Reverse(1, path.Count - 2);
                        return string.Join(" → ", path);
                    }
                    if (parent.ContainsKey(child))
                        continue;
                    parent[child] = node;
                    queue.Enqueue(child);
                }
            }
            return type.Name + " → " + type.Name;
        }
    }
}
