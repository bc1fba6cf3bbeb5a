using System.Diagnostics;
using System.Security.Cryptography;
using NormSharp.IO.Safetensors;
using NormSharp.Kernels;

namespace NormSharp.Tests.Kernels;

/// <summary>
/// A seeded training run must give bit-identical weights on every CPU and thread count. The CLI is run as child
/// processes with the .NET switches that turn off AVX-512, AVX2 or all SIMD, each with one and with two threads, and
/// the hashes of the trained weights (model.safetensors' tensors) must all be equal. This is what lets a
/// reproduction made on one machine be checked bit for bit on another.
/// </summary>
[Trait("Category", "CrossIsa")]
public class CrossInstructionSetTrainingTests
{
    private static readonly (string Name, string[] Environment)[] Settings =
    [
        ("default", []),
        ("DOTNET_EnableAVX512=0", ["DOTNET_EnableAVX512=0"]),
        ("DOTNET_EnableAVX2=0", ["DOTNET_EnableAVX2=0"]),
        ("DOTNET_EnableHWIntrinsic=0", ["DOTNET_EnableHWIntrinsic=0"]),
    ];

    public static TheoryData<string, string> Models => new()
    {
        // LayerNorm, GELU (erf form), Adam: row normalization, the transcendental kernels, both GEMM paths.
        { "layer-gelu-adam", "--norm layer --activation gelu --optimizer adam --hidden 40,24 --batch-size 16" },
        // BatchNorm on [N, C], tanh, SGD with momentum and clipping: the column layout and the gradient norm.
        { "batch-tanh-sgd", "--norm batch --activation tanh --optimizer sgd --lr 0.05 --momentum 0.9 --clip-norm 1 --hidden 37,19 --batch-size 12" },
        // A layer-normalized LSTM on the (synthetic) adding problem: sigmoid, tanh and the recurrent GEMMs.
        { "ln-lstm-adding", "--model rnn --cell ln-lstm --task adding --sequence-length 12 --hidden 20 --batch-size 16 --train-limit 160" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public async Task SeededTrainingGivesTheSameWeightsOnEveryInstructionSetAndThreadCount(string name, string options)
    {
        using var data = new TestData.TempDir();
        TestData.WriteFolder(data.Path, train: 192, test: 48, classes: 4, seed: 5);
        var runs = new List<(string Label, Task<string> Hash)>();
        foreach (var (setting, environment) in Settings)
            foreach (int threads in new[] { 1, 2 })
            {
                string outDir = Path.Combine(data.Path, $"{name}-{runs.Count}");
                string args = $"train --data-dir {data.Path} {options} --epochs 1 --seed 7 --threads {threads} --out {outDir}";
                runs.Add(($"{setting}, --threads {threads}", Task.Run(() => TrainAndHash(args, environment, outDir))));
            }
        string[] hashes = await Task.WhenAll(runs.Select(r => r.Hash));
        var report = string.Join("\n", runs.Select((r, i) => $"  {r.Label}: {hashes[i]}"));
        Assert.True(hashes.All(h => h == hashes[0]), $"{name}: the trained weights differ between runs:\n{report}");
    }

    [Fact]
    public async Task TheUnfusedMultiplyAddIsReproducibleOnItsMachineAndChangesNothingWhereTheInstructionExists()
    {
        if (!System.Runtime.Intrinsics.X86.Fma.IsSupported) return; // the comparison needs a machine with the instruction
        using var data = new TestData.TempDir();
        TestData.WriteFolder(data.Path, train: 192, test: 48, classes: 4, seed: 5);
        string unfused = $"{Numerics.UnfusedVariable}=unfused";
        (string Label, string[] Environment, int Threads)[] cases =
        [
            ("exact, with the instruction", [], 1),
            ("unfused, with the instruction", [unfused], 1),
            ("unfused, AVX2 off, 1 thread", [unfused, "DOTNET_EnableAVX2=0"], 1),
            ("unfused, AVX2 off, 2 threads", [unfused, "DOTNET_EnableAVX2=0"], 2),
        ];
        var hashes = await Task.WhenAll(cases.Select((c, i) => Task.Run(() =>
        {
            string outDir = Path.Combine(data.Path, $"run-{i}");
            return TrainAndHash($"train --data-dir {data.Path} --norm layer --hidden 40,24 --batch-size 16 --epochs 1 --seed 7 --threads {c.Threads} --out {outDir}", c.Environment, outDir);
        })));
        Assert.True(hashes[1] == hashes[0], "the variable must not change anything where the instruction exists");
        Assert.True(hashes[3] == hashes[2], "unfused runs must still give the same bits on any number of threads");
        Assert.True(hashes[2] != hashes[0], "without the instruction the unfused form rounds twice, so its weights differ in their last bits");
    }

    [Fact]
    public void AnUnknownMultiplyAddSettingIsAnInputError()
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "NormSharp.Cli.dll"));
        start.ArgumentList.Add("bench");
        start.ArgumentList.Add("gemm");
        start.Environment[Numerics.UnfusedVariable] = "fast";
        using var process = Process.Start(start)!;
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(2, process.ExitCode);
        Assert.Contains($"{Numerics.UnfusedVariable} must be 'exact' or 'unfused', not 'fast'", stderr);
    }

    /// <summary>Runs the CLI with extra environment variables and returns the SHA-256 of the trained tensors (names and bytes).</summary>
    private static string TrainAndHash(string arguments, string[] environment, string outDir)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "NormSharp.Cli.dll");
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(cli);
        foreach (string a in arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)) start.ArgumentList.Add(a);
        // A child inherits the test leg's switches; each run sets exactly its own.
        foreach (string v in new[] { "DOTNET_EnableAVX512", "DOTNET_EnableAVX2", "DOTNET_EnableHWIntrinsic", "NORMSHARP_EXPECT_SIMD", Numerics.UnfusedVariable }) start.Environment.Remove(v);
        foreach (string pair in environment)
        {
            int eq = pair.IndexOf('=');
            start.Environment[pair[..eq]] = pair[(eq + 1)..];
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"normsharp {arguments} ({string.Join(" ", environment)}) did not finish in 3 minutes");
        }
        if (process.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"normsharp {arguments} ({string.Join(" ", environment)}) exited with {process.ExitCode}:\n{stderr.Result}\n{stdout.Result}");
        var file = SafetensorsFile.Read(Path.Combine(outDir, "model.safetensors"));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var entry in file.Entries.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(entry.Name));
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(file.GetTensor(entry.Name).Span));
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
