using System;
using System.Linq;
using static TorchSharp.torch;

namespace ModelGen.Nn
{
    /// <summary>
    /// A parameterless container that gives a block a dotted state_dict name (<c>[StateName("attention.self.query")]</c>, as in
    /// Hugging Face BERT): the block is registered as <c>query</c> inside a container <c>self</c> inside a container
    /// <c>attention</c>, so its keys are <c>attention.self.query.weight</c> and TorchSharp's <c>state_dict</c>,
    /// <c>load_state_dict</c>, <c>save</c> and <c>load</c> handle them like any nested module.
    /// </summary>
    /// <remarks>
    /// TorchSharp (like PyTorch) refuses a '.' in one module name, because the dots of a key come from nesting; nesting is
    /// therefore what this class builds. Containers are shared: <c>attention.self.query</c> and <c>attention.self.key</c> live in
    /// one <c>attention.self</c>. A container has no forward; generated code calls the blocks through their properties.
    /// </remarks>
    public sealed class StatePath : nn.Module
    {
        /// <summary>Creates an empty container.</summary>
        /// <param name="name">The one level of the path it stands for.</param>
        public StatePath(string name) : base(name)
        {
        }

        /// <summary>
        /// Moves <paramref name="block"/>, registered in <paramref name="owner"/> under the dot-free <paramref name="placeholder"/>,
        /// to the dotted <paramref name="path"/>, creating (or reusing) a <see cref="StatePath"/> container for each level but the last.
        /// </summary>
        /// <param name="owner">The module whose state_dict gets the dotted keys.</param>
        /// <param name="placeholder">The name the block was registered under (removed here); null when it was not registered.</param>
        /// <param name="path">The dotted name, e.g. <c>attention.self.query</c>.</param>
        /// <param name="block">The block.</param>
        /// <exception cref="ArgumentException">The path has an empty level (empty, leading or trailing dot, <c>..</c>).</exception>
        /// <exception cref="InvalidOperationException">A level is already taken by a block that is not a container, or the last level is taken.</exception>
        public static void Attach(nn.Module owner, string? placeholder, string path, nn.Module block)
        {
            ArgumentNullException.ThrowIfNull(owner);
            ArgumentNullException.ThrowIfNull(path);
            ArgumentNullException.ThrowIfNull(block);
            var levels = path.Split('.');
            if (levels.Any(l => l.Length == 0))
                throw new ArgumentException($"The state_dict name '{path}' has an empty level: a dotted name needs text between its dots.", nameof(path));
            if (placeholder is not null)
                owner.register_module(placeholder, null!); // TorchSharp: registering null removes the entry
            nn.Module parent = owner;
            for (var i = 0; i < levels.Length - 1; i++)
            {
                var existing = parent.named_children().FirstOrDefault(c => c.name == levels[i]).module;
                if (existing is null)
                {
                    existing = new StatePath(levels[i]);
                    parent.register_module(levels[i], existing);
                }
                else if (existing is not StatePath)
                {
                    var prefix = string.Join(".", levels.Take(i + 1));
                    throw new InvalidOperationException($"The state_dict name '{path}' needs '{prefix}' to be a container, but a block already has that name.");
                }
                parent = existing;
            }
            var last = levels[levels.Length - 1];
            if (parent.named_children().Any(c => c.name == last))
                throw new InvalidOperationException($"The state_dict name '{path}' is already taken by another block or container.");
            parent.register_module(last, block);
        }
    }
}
