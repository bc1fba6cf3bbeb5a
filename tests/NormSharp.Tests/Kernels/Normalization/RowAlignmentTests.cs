using NormSharp.Kernels.Normalization;
using NormSharp.Kernels.Simd;
using NormSharp.Tensors;
using static NormSharp.Tests.Kernels.Sweeps.EveryWidth;

namespace NormSharp.Tests.Kernels.Normalization;

/// <summary>
/// The row kernels take an aligned pass when every row stream starts at the same place within a vector (whole
/// aligned vectors, and one partial vector at each end written only in the row's lanes) and an unaligned one
/// otherwise; their parameter-gradient partials and copied parameters are placed by address. None of that may show
/// in a result: at every starting position of the streams within a 64-byte line, alike or not, and at every width,
/// the outputs are the bits of the portable scalar form, and nothing outside the output spans is written.
/// </summary>
[Trait("Category", "Kernels")]
public class RowAlignmentTests
{
    private const int Guard = 32;

    /// <summary>A float span of <paramref name="length"/> starting <paramref name="offset"/> floats into a 64-byte line, in pinned memory with guard values around it.</summary>
    private sealed unsafe class Placed
    {
        private readonly float[] _storage;
        private readonly int _start;
        public readonly int Length;

        public Placed(int length, int offset, ReadOnlySpan<float> values = default)
        {
            Length = length;
            _storage = GC.AllocateArray<float>(length + 2 * Guard + 16, pinned: true);
            fixed (float* p = _storage)
            {
                int first = (int)((64 - ((nuint)p & 63)) & 63) / sizeof(float);
                _start = Guard + first + offset;
            }
            _storage.AsSpan().Fill(GuardValue);
            if (!values.IsEmpty) values.CopyTo(Span);
            else Span.Clear();
        }

        public Span<float> Span => _storage.AsSpan(_start, Length);

        public float* Pointer
        {
            get
            {
                fixed (float* p = _storage) return p + _start;
            }
        }

        public void AssertGuardsIntact(string what)
        {
            for (int i = 0; i < _storage.Length; i++)
            {
                if (i >= _start && i < _start + Length) continue;
                if (BitConverter.SingleToInt32Bits(_storage[i]) != BitConverter.SingleToInt32Bits(GuardValue))
                    Assert.Fail($"{what}: the kernel wrote outside its output, {i - _start} elements from its start.");
            }
        }
    }

    private static readonly float GuardValue = BitConverter.Int32BitsToSingle(0x7FC0BEEF);

    private static float[] Normal(Rng rng, int count, float mean, float std)
    {
        var a = new float[count];
        rng.FillNormal(a, mean, std);
        return a;
    }

    private sealed record Offsets(int X, int Y, int Dy, int Dx, int W, int B);

    /// <summary>LayerNorm forward and backward with every array placed at its offset; returns all outputs.</summary>
    private static float[] LayerNorm(bool centered, float[] x, float[] w, float[] b, float[] dy, int rows, int cols, Offsets at)
    {
        var px = new Placed(x.Length, at.X, x);
        var pdy = new Placed(dy.Length, at.Dy, dy);
        var pw = new Placed(cols, at.W, w);
        var pb = new Placed(cols, at.B, b);
        var py = new Placed(x.Length, at.Y);
        var pdx = new Placed(x.Length, at.Dx);
        var pdw = new Placed(cols, (at.W + 5) % 16);
        var pdb = new Placed(cols, (at.B + 7) % 16);
        var mean = new float[rows];
        var rstd = new float[rows];
        if (centered)
        {
            LayerNormKernels.Forward(px.Span, pw.Span, pb.Span, py.Span, mean, rstd, rows, cols, 1e-5f);
            LayerNormKernels.Backward(pdy.Span, px.Span, pw.Span, mean, rstd, pdx.Span, pdw.Span, pdb.Span, rows, cols);
        }
        else
        {
            RmsNormKernels.Forward(px.Span, pw.Span, py.Span, rstd, rows, cols, 1e-5f);
            RmsNormKernels.Backward(pdy.Span, px.Span, pw.Span, rstd, pdx.Span, pdw.Span, rows, cols);
        }
        py.AssertGuardsIntact("y");
        pdx.AssertGuardsIntact("dx");
        pdw.AssertGuardsIntact("dweight");
        pdb.AssertGuardsIntact("dbias");
        return Join(py.Span.ToArray(), mean, rstd, pdx.Span.ToArray(), pdw.Span.ToArray(), centered ? pdb.Span.ToArray() : []);
    }

    public static TheoryData<bool, int, int> Shapes() => new()
    {
        { true, 5, 128 }, { true, 7, 144 }, { true, 9, 256 }, { true, 3, 512 }, { true, 6, 1000 }, { true, 4, 1024 }, { true, 40, 256 },
        { false, 5, 128 }, { false, 7, 272 }, { false, 3, 520 }, { false, 4, 1024 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void RowsGiveTheSameBitsAtEveryStartWithinALine(bool centered, int rows, int cols)
    {
        var rng = new Rng((ulong)(cols * 31 + rows));
        var x = Normal(rng, rows * cols, 3f, 2f);
        var dy = Normal(rng, rows * cols, 0f, 1f);
        var w = Normal(rng, cols, 1f, 0.3f);
        var b = Normal(rng, cols, 0f, 0.3f);
        var origin = new Offsets(0, 0, 0, 0, 0, 0);
        float[] reference;
        using (Widths.Force(VectorWidth.Scalar)) reference = LayerNorm(centered, x, w, b, dy, rows, cols, origin);
        var placements = new List<Offsets>();
        // Every stream at the same place (the aligned pass), with the parameters there or elsewhere.
        for (int o = 0; o < 16; o++)
        {
            placements.Add(new Offsets(o, o, o, o, o, o));
            placements.Add(new Offsets(o, o, o, o, (o + 3) % 16, (o + 9) % 16));
        }
        // Streams at different places (the unaligned pass).
        placements.Add(new Offsets(1, 2, 3, 4, 5, 6));
        placements.Add(new Offsets(6, 6, 6, 10, 6, 6));
        placements.Add(new Offsets(0, 8, 0, 0, 0, 0));
        foreach (var width in Available)
        {
            foreach (var at in placements)
            {
                float[] result;
                using (Widths.Force(width)) result = LayerNorm(centered, x, w, b, dy, rows, cols, at);
                AssertBits($"{(centered ? "LayerNorm" : "RMSNorm")} {rows}x{cols} at {width}, placed {at}", reference, result);
            }
        }
    }

    [Fact]
    public unsafe void StreamsPlacedAlikeTakeTheAlignedPass()
    {
        // The placements above reach the aligned pass at the hardware widths (and never at the portable one).
        var a = new Placed(1024, 6);
        var b = new Placed(1024, 6);
        var c = new Placed(1024, 11);
        foreach (var width in Available)
        {
            int phase = AlignedRows.Phase(width, 1024, a.Pointer, b.Pointer, b.Pointer);
            if (width == VectorWidth.Scalar) Assert.Equal(-1, phase);
            else Assert.True(phase >= 0, $"aligned pass not taken at {width}");
            Assert.Equal(-1, AlignedRows.Phase(width, 1024, a.Pointer, c.Pointer, b.Pointer));
            Assert.Equal(-1, AlignedRows.Phase(width, 100, a.Pointer, b.Pointer, b.Pointer));
        }
    }
}
