using System;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace ModelGen.Tool.Tests.Nvml;

/// <summary>
/// Builds Nvml/fake_nvml.c with gcc into a fresh folder (a new path per instance, so each test loads its own copy) and sets the
/// devices it reports through its state file.
/// </summary>
internal sealed class FakeNvml : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "modelgen-fake-nvml-" + Guid.NewGuid().ToString("N"));

    public FakeNvml(params string[] defines)
    {
        Directory.CreateDirectory(_directory);
        StateFile = Path.Combine(_directory, "devices.txt");
        Library = Path.Combine(_directory, "libnvidia-ml.so.1");
        var source = Path.Combine(AppContext.BaseDirectory, "Nvml", "fake_nvml.c");
        var arguments = new[] { "-shared", "-fPIC", "-O1", $"-DSTATE_FILE=\"{StateFile}\"" }
            .Concat(defines.Select(d => "-D" + d)).Concat(new[] { "-o", Library, source });
        var start = new ProcessStartInfo("gcc") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var gcc = Process.Start(start)!;
        var errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0)
            throw new InvalidOperationException($"gcc failed ({gcc.ExitCode}): {errors}");
        SetDevices();
    }

    /// <summary>The compiled library's path.</summary>
    public string Library { get; }

    /// <summary>The file the library reads its devices from.</summary>
    public string StateFile { get; }

    /// <summary>The devices the library reports from now on.</summary>
    public void SetDevices(params (long Used, long Total, string Name)[] devices) =>
        File.WriteAllLines(StateFile, devices.Select(d => $"{d.Used} {d.Total} {d.Name}"));

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // The library may still be mapped by the test process; the temp folder is cleaned by the system.
        }
    }
}
