using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using ModelGen.Specs;

namespace ModelGen.Tool.Loading
{
    /// <summary>
    /// Finds the generated <c>static ModelSpec DescribeModel(Config)</c> of every <c>[Model]</c> in a built assembly and calls it
    /// with the config's default instance (what the analyzers check at compile time) or a named preset (<c>Tiny</c>).
    /// The assembly is loaded in a collectible context that shares ModelGen.Core with the tool, so the specs it returns are the
    /// tool's own types; the context is unloaded afterwards, since the specs are plain values that hold nothing of it.
    /// </summary>
    internal static class AssemblyModels
    {
        private const string DescribeModel = "DescribeModel";

        /// <summary>Loads every model of <paramref name="assemblyPath"/>; <paramref name="only"/> keeps the one of that class name.</summary>
        /// <exception cref="ToolException">The file is missing, is not a .NET assembly, has no models, or a config cannot be made.</exception>
        public static IReadOnlyList<LoadedModel> Load(string assemblyPath, string? preset = null, string? only = null)
        {
            var path = Path.GetFullPath(assemblyPath);
            if (!File.Exists(path))
                throw new ToolException($"No such assembly: {path}");
            var context = new ModelLoadContext(path);
            try
            {
                Assembly assembly;
                try
                {
                    assembly = context.LoadFromAssemblyPath(path);
                }
                catch (BadImageFormatException e)
                {
                    throw new ToolException($"{path} is not a .NET assembly: {e.Message}");
                }
                var models = new List<LoadedModel>();
                foreach (var method in DescribeMethods(assembly))
                {
                    if (only is not null && !string.Equals(method.DeclaringType!.Name, only, StringComparison.Ordinal))
                        continue;
                    var configType = method.GetParameters()[0].ParameterType;
                    var (config, configText) = CreateConfig(configType, preset);
                    ModelSpec spec;
                    try
                    {
                        spec = (ModelSpec)method.Invoke(null, new[] { config })!;
                    }
                    catch (TargetInvocationException e) when (e.InnerException is not null)
                    {
                        throw new ToolException($"{method.DeclaringType!.FullName}.{DescribeModel}({configText}) threw {e.InnerException.GetType().Name}: {e.InnerException.Message}", e.InnerException);
                    }
                    models.Add(new LoadedModel(method.DeclaringType!.Name, $"{Path.GetFileName(path)}: {method.DeclaringType.FullName}.{DescribeModel}({configText})", spec));
                }
                if (models.Count == 0)
                {
                    throw new ToolException(only is null
                        ? $"{Path.GetFileName(path)} has no [Model] class (no generated static {DescribeModel}(config) returning ModelGen.Specs.ModelSpec)."
                        : $"{Path.GetFileName(path)} has no [Model] class named '{only}'.");
                }
                return models;
            }
            finally
            {
                context.Unload();
            }
        }

        private static IEnumerable<MethodInfo> DescribeMethods(Assembly assembly)
        {
            Type[] types;
            try
            {
                types = assembly.GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                // A type whose dependencies are missing cannot be a model we can call anyway; keep the loadable ones.
                types = e.Types.Where(t => t is not null).ToArray()!;
            }
            foreach (var type in types.OrderBy(t => t.FullName, StringComparer.Ordinal))
            {
                var method = type.GetMethod(DescribeModel, BindingFlags.Public | BindingFlags.Static);
                if (method is null || method.GetParameters().Length != 1)
                    continue;
                if (method.ReturnType == typeof(ModelSpec))
                {
                    yield return method;
                }
                else if (method.ReturnType.FullName == typeof(ModelSpec).FullName)
                {
                    throw new ToolException($"{type.FullName} was built against another ModelGen.Core ({method.ReturnType.Assembly.GetName().Version}) than this tool's ({typeof(ModelSpec).Assembly.GetName().Version}); install the modelgen tool of the ModelGen package version the project uses.");
                }
            }
        }

        /// <summary>The config's default instance, or the static property or field <paramref name="preset"/> of the config type.</summary>
        private static (object Config, string Text) CreateConfig(Type configType, string? preset)
        {
            if (preset is not null)
            {
                var property = configType.GetProperty(preset, BindingFlags.Public | BindingFlags.Static);
                var field = configType.GetField(preset, BindingFlags.Public | BindingFlags.Static);
                var value = property is not null && configType.IsAssignableFrom(property.PropertyType) ? property.GetValue(null)
                    : field is not null && configType.IsAssignableFrom(field.FieldType) ? field.GetValue(null)
                    : null;
                if (value is null)
                {
                    var presets = configType.GetProperties(BindingFlags.Public | BindingFlags.Static).Where(p => configType.IsAssignableFrom(p.PropertyType)).Select(p => p.Name)
                        .Concat(configType.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => configType.IsAssignableFrom(f.FieldType)).Select(f => f.Name))
                        .ToList();
                    throw new ToolException($"{configType.Name} has no public static preset '{preset}'" + (presets.Count == 0 ? "." : $"; it has: {string.Join(", ", presets)}."));
                }
                return (value, $"{configType.Name}.{preset}");
            }
            if (configType.GetConstructor(Type.EmptyTypes) is null)
                throw new ToolException($"{configType.Name} has no public parameterless constructor, so its defaults cannot be made; pass --preset NAME.");
            return (Activator.CreateInstance(configType)!, $"new {configType.Name}()");
        }

        /// <summary>Resolves the user's dependencies from beside the assembly (its deps.json), but ModelGen.Core from the tool.</summary>
        private sealed class ModelLoadContext : AssemblyLoadContext
        {
            private static readonly string CoreName = typeof(ModelSpec).Assembly.GetName().Name!;
            private readonly AssemblyDependencyResolver _resolver;
            private readonly string _directory;

            public ModelLoadContext(string assemblyPath)
                : base("modelgen plan", isCollectible: true)
            {
                _resolver = new AssemblyDependencyResolver(assemblyPath);
                _directory = Path.GetDirectoryName(assemblyPath)!;
            }

            protected override Assembly? Load(AssemblyName assemblyName)
            {
                if (assemblyName.Name == CoreName)
                    return null; // the tool's own, so ModelSpec is one type on both sides
                var path = _resolver.ResolveAssemblyToPath(assemblyName);
                if (path is null)
                {
                    var beside = Path.Combine(_directory, assemblyName.Name + ".dll");
                    path = File.Exists(beside) ? beside : null;
                }
                return path is null ? null : LoadFromAssemblyPath(path);
            }

            protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
            {
                var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
                return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
            }
        }
    }
}
