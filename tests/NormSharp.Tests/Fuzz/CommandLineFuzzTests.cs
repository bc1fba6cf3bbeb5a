using CsCheck;
using NormSharp.Cli;

namespace NormSharp.Tests.Fuzz;

/// <summary>Random command lines end with exit code 0 (help) or 2 and one error line; nothing crashes or starts a long job.</summary>
public class CommandLineFuzzTests
{
    private static readonly string[] Words =
    [
        "train", "bench", "inspect", "norms", "gemm", "--help", "-h", "--norm", "layer", "group", "--batch-size", "-1", "0", "1e99",
        "--lr", "nan", "--epochs", "--hidden", "10,,3", "--out", "--resume", "--json", "--seed", "-5", "--threads", "999999", "x",
        "--data-dir", "--dataset", "cifar", "--nan-policy", "--verbose", "--", "=", "--lr=", "--norm=batch", "\u00e9", "",
    ];

    [Fact]
    public void RandomCommandLines() =>
        Gen.Int[0, Words.Length - 1].Array[0, 6].Sample(picks =>
        {
            var args = picks.Select(i => Words[i]).ToArray();
            // Anything that could start a real run or benchmark gets an invalid option appended, so only parsing is exercised.
            if (!args.Contains("--help") && !args.Contains("-h")) args = [.. args, "--definitely-not-an-option"];
            var o = new StringWriter();
            var e = new StringWriter();
            int code = CommandLine.Run(args, o, e, interactive: false);
            Assert.True(code is 0 or 2, $"exit {code} for '{string.Join(" ", args)}': {e}");
            if (code == 2)
            {
                string err = e.ToString();
                Assert.StartsWith("error: ", err);
                if (!args.Contains("--verbose")) Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            }
        }, iter: 1500);
}
