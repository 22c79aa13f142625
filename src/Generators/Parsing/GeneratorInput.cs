using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace ModelGen.Parsing
{
    /// <summary>
    /// The compilation the generator read, found from the one the analyzers are given. A build runs the generator on the user's
    /// compilation and the analyzers on that compilation plus the generated files; the generated code was written from the
    /// generator's parse, so the analyzers read that same parse (<see cref="ParseCache"/>): each class is parsed, and its
    /// <c>Forward</c> body bound, once per build instead of once per compilation (docs/benchmarks-analyzers.md). Reading the parse the
    /// code was generated from also keeps the estimate on the code that runs where generated code changes what user code binds to.
    /// When no such compilation is known (analyzers run without the generator, or an IDE shows generated files older than the code),
    /// the analyzers parse the compilation they are given, as before.
    /// </summary>
    public static class GeneratorInput
    {
        private static readonly string GeneratorFolder = typeof(Generators.ModelGenGenerator).FullName!;
        private static readonly string GeneratorAssemblyFolder = typeof(Generators.ModelGenGenerator).Assembly.GetName().Name!;

        // Each input by its last syntax tree: the analyzed compilation holds that tree, right before the generated ones. The entry lives
        // as long as the tree; a later input ending in the same tree replaces it, so at most one input per last tree is kept.
        private static readonly ConditionalWeakTable<SyntaxTree, Compilation> ByLastTree = new();
        private static readonly object Gate = new();
        private static readonly ConditionalWeakTable<Compilation, Lineage> Found = new();
        private static WeakReference<Compilation>? _lastRecorded;

        /// <summary>Records <paramref name="input"/> as a compilation the generator parses (called by the generator).</summary>
        public static void Record(Compilation input)
        {
            if (Volatile.Read(ref _lastRecorded) is { } recent && recent.TryGetTarget(out var recentInput) && ReferenceEquals(recentInput, input))
                return; // the generator parses many classes of one compilation
            SyntaxTree? last = null;
            foreach (var tree in input.SyntaxTrees)
                last = tree;
            if (last is null)
                return;
            lock (Gate)
            {
                if (!ByLastTree.TryGetValue(last, out var known) || !ReferenceEquals(known, input))
                {
                    ByLastTree.Remove(last);
                    ByLastTree.Add(last, input);
                }
            }
            Volatile.Write(ref _lastRecorded, new WeakReference<Compilation>(input));
        }

        /// <summary>
        /// The class as the generator read it: <paramref name="type"/> and <paramref name="compilation"/> are replaced by the generator's
        /// input compilation and the same class in it, when <paramref name="compilation"/> is that input plus generated files.
        /// </summary>
        public static void Map(ref INamedTypeSymbol type, ref Compilation compilation)
        {
            if (Found.GetValue(compilation, static analyzed => new Lineage(InputOf(analyzed))) is not { Input: { } input } lineage)
                return;
            if (SymbolEqualityComparer.Default.Equals(type.ContainingAssembly, input.Assembly))
            {
                compilation = input; // already a symbol of the input (a used layer of a parse read there)
                return;
            }
            if (lineage.Types.GetOrAdd(type, t => InInput(t, input)) is { } mapped)
            {
                type = mapped;
                compilation = input;
            }
        }

        /// <summary>The generator's input that <paramref name="analyzed"/> extends with generated files only; null when there is none.</summary>
        public static Compilation? InputOf(Compilation analyzed)
        {
            var trees = new List<SyntaxTree>(analyzed.SyntaxTrees);
            Compilation? input = null;
            var end = trees.Count - 1;
            for (; end >= 0; end--)
            {
                lock (Gate)
                {
                    if (ByLastTree.TryGetValue(trees[end], out input))
                        break;
                }
            }
            if (input is null || ReferenceEquals(input, analyzed) || !SameInputs(input, analyzed, trees, end))
                return null;
            return OnlyGeneratedAfter(trees, end) ? input : null;
        }

        // The same trees (the same objects, in order) up to the input's last, and the same references and options.
        private static bool SameInputs(Compilation input, Compilation analyzed, List<SyntaxTree> trees, int end)
        {
            var index = 0;
            foreach (var tree in input.SyntaxTrees)
            {
                if (index > end || !ReferenceEquals(tree, trees[index]))
                    return false;
                index++;
            }
            if (index != end + 1 || input.AssemblyName != analyzed.AssemblyName || !input.Options.Equals(analyzed.Options))
                return false;
            var references = new List<MetadataReference>(input.References);
            var matched = 0;
            foreach (var reference in analyzed.References)
            {
                if (matched >= references.Count || !ReferenceEquals(reference, references[matched]))
                    return false;
                matched++;
            }
            return matched == references.Count;
        }

        // Every tree after the input's last one is a generator's output (<base>/<generator assembly>/<generator type>/<hint name>, the
        // compiler's layout), and ModelGen's own are among them. A user file added after the generator ran fails this, and the
        // analyzers then parse the compilation they were given.
        private static bool OnlyGeneratedAfter(List<SyntaxTree> trees, int end)
        {
            string? root = null;
            for (var i = end + 1; i < trees.Count && root is null; i++)
            {
                var folder = Parent(trees[i].FilePath);
                if (Name(folder) == GeneratorFolder && Name(Parent(folder)) == GeneratorAssemblyFolder)
                    root = Parent(Parent(folder));
            }
            if (root is null)
                return false;
            for (var i = end + 1; i < trees.Count; i++)
            {
                var generatorFolder = Parent(Parent(trees[i].FilePath));
                if (Name(generatorFolder).Length == 0 || Parent(generatorFolder) != root)
                    return false;
            }
            return true;
        }

        // Path parts by the separators alone: System.IO.Path throws on some strings on .NET Framework, and a tree's path is any text.
        private static string Parent(string path)
        {
            var at = path.LastIndexOfAny(Separators);
            return at < 0 ? "" : path.Substring(0, at);
        }

        private static string Name(string path) => path.Substring(path.LastIndexOfAny(Separators) + 1);

        private static readonly char[] Separators = { '/', '\\' };

        // The class declared by the same syntax in the input (its parts in generated files are not there).
        private static INamedTypeSymbol? InInput(INamedTypeSymbol type, Compilation input)
        {
            foreach (var reference in type.DeclaringSyntaxReferences)
            {
                if (!input.ContainsSyntaxTree(reference.SyntaxTree))
                    continue;
                return input.GetSemanticModel(reference.SyntaxTree).GetDeclaredSymbol(reference.GetSyntax()) as INamedTypeSymbol;
            }
            return null;
        }

        private sealed class Lineage
        {
            public Lineage(Compilation? input) => Input = input;

            public Compilation? Input { get; }

            public ConcurrentDictionary<INamedTypeSymbol, INamedTypeSymbol?> Types { get; } = new(SymbolEqualityComparer.Default);
        }
    }
}
