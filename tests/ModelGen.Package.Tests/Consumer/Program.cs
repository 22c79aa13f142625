// Compiled by the package test's fresh consumer project, not by the test project.
namespace Consumer;

public static class Program
{
    public static void Main() => System.Console.WriteLine(typeof(Mlp).FullName);
}
