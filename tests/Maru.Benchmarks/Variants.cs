using System.Runtime.InteropServices;
using Maru.Compiler;
using Maru.Compiler.Syntax;
using Maru.Compiler.Targets;

namespace Maru.Benchmarks;

/// <summary>One way of running a program's <c>long bench(long n)</c>: a loaded native library's export, or the C# twin.</summary>
internal sealed unsafe record Variant(string Name, nint Entry, bool IsManaged)
{
    public delegate* unmanaged<long, long> Bench => (delegate* unmanaged<long, long>)Entry;
}

/// <summary>Builds every variant of a program into the output folder and loads it.</summary>
internal static class VariantBuilder
{
    /// <summary>Column order of the tables.</summary>
    public static readonly string[] Names = ["maru", "maru-O0", "gcc-O2", "gcc-O0", "tcc", "C#"];

    public static string SourceDirectory(BenchmarkProgram program) => Path.Combine(AppContext.BaseDirectory, "programs", program.Name);
    public static string MaruSource(BenchmarkProgram program) => Path.Combine(SourceDirectory(program), program.Name + ".l");
    public static string CSource(BenchmarkProgram program) => Path.Combine(SourceDirectory(program), program.Name + ".c");

    public static CompilationOptions MaruOptions(string libraryName, OptimisationLevel level, bool listing = false) =>
        new() { Target = TargetPlatform.LinuxX64, LibraryName = libraryName, Optimisation = level, VerifyIr = false, ProduceListing = listing };

    /// <summary>Compiles a Maru file in-process, as the SDK does, and returns the library bytes.</summary>
    public static byte[] CompileMaru(string path, string libraryName, OptimisationLevel level)
    {
        var result = MaruCompiler.Compile([SourceFile.Load(path)], MaruOptions(libraryName, level));
        if (!result.Success)
            throw new BenchmarkFailure($"Maru.Sdk failed to compile {path}:\n{string.Join('\n', result.Diagnostics)}");
        return result.Library!;
    }

    public static List<Variant> Build(BenchmarkProgram program, string outputDirectory)
    {
        var directory = Path.Combine(outputDirectory, program.Name);
        Directory.CreateDirectory(directory);
        var c = CSource(program);
        string Library(string variant) => Path.Combine(directory, $"lib{program.Name}-{variant}.so");

        File.WriteAllBytes(Library("maru"), CompileMaru(MaruSource(program), program.Name, OptimisationLevel.O1));
        File.WriteAllBytes(Library("maru-O0"), CompileMaru(MaruSource(program), program.Name, OptimisationLevel.O0));
        Toolchain.Run(Toolchain.Gcc, "-O2", "-shared", "-fPIC", "-o", Library("gcc-O2"), c);
        Toolchain.Run(Toolchain.Gcc, "-O0", "-shared", "-fPIC", "-o", Library("gcc-O0"), c);
        Toolchain.Run(Toolchain.Tcc, "-shared", "-o", Library("tcc"), c);

        // For whoever studies the code: Maru.Sdk's O1 listing next to gcc -O2's assembly.
        var listing = MaruCompiler.Compile([SourceFile.Load(MaruSource(program))], MaruOptions(program.Name, OptimisationLevel.O1, listing: true)).Listing;
        File.WriteAllText(Path.Combine(directory, $"{program.Name}-maru.lst"), listing ?? "");
        Toolchain.Run(Toolchain.Gcc, "-O2", "-fPIC", "-S", "-masm=intel", "-o", Path.Combine(directory, $"{program.Name}-gcc-O2.s"), c);

        var variants = new List<Variant>();
        foreach (var name in Names)
        {
            if (name == "C#")
            {
                variants.Add(new Variant(name, program.CSharpEntry, IsManaged: true));
                continue;
            }
            var handle = NativeLibrary.Load(Library(name));   // kept loaded for the life of the process
            variants.Add(new Variant(name, NativeLibrary.GetExport(handle, "bench"), IsManaged: false));
        }
        return variants;
    }
}
