using NormSharp.Kernels.Simd;

namespace NormSharp.Tests.Kernels.Sweeps;

/// <summary>
/// Runs a kernel at every vector width this machine has (512, 256, 128 bits and the portable scalar form) and checks
/// that each gives exactly the bits of the widest: the property that lets a result made on one machine be checked
/// bit for bit on another.
/// </summary>
internal static class EveryWidth
{
    /// <summary>The widths available here, widest first.</summary>
    public static VectorWidth[] Available { get; } =
        Enum.GetValues<VectorWidth>().Where(NormSharp.Kernels.Simd.Widths.IsAvailable).OrderDescending().ToArray();

    /// <summary>
    /// Runs <paramref name="run"/> at every width (it returns every output it wrote, concatenated) and asserts the
    /// bits agree; returns the widest width's outputs.
    /// </summary>
    public static float[] SameBits(string what, Func<float[]> run)
    {
        float[]? reference = null;
        foreach (var width in Available)
        {
            float[] result;
            using (NormSharp.Kernels.Simd.Widths.Force(width)) result = run();
            if (reference is null)
            {
                reference = result;
                continue;
            }
            AssertBits($"{what} at {width} against {Available[0]}", reference, result);
        }
        return reference!;
    }

    /// <summary>Asserts two arrays hold the same bits, naming the first difference.</summary>
    public static void AssertBits(string what, float[] expected, float[] actual)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} is {actual[i]:R} (0x{BitConverter.SingleToInt32Bits(actual[i]):X8}), expected {expected[i]:R} (0x{BitConverter.SingleToInt32Bits(expected[i]):X8})");
        }
    }

    /// <summary>Row lengths of the sweeps: every length 0..256 and a few large ones.</summary>
    public static IEnumerable<int> Lengths(bool includeZero = true)
    {
        for (int n = includeZero ? 0 : 1; n <= 256; n++) yield return n;
        yield return 1000;
        yield return 1024;
        yield return 4099;
    }

    /// <summary>Concatenates arrays (the outputs of one kernel call).</summary>
    public static float[] Join(params float[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Asserts |actual − expected| ≤ atol + rtol·|expected| for every element, naming the worst.</summary>
    public static void Close(string what, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double atol, double rtol) =>
        Normalization.ChannelNormTestHelpers.Close(what, actual, expected, atol, rtol);
}
