using NormSharp.Kernels;
using NormSharp.Tensors;
using static NormSharp.Tests.Kernels.Sweeps.EveryWidth;

namespace NormSharp.Tests.Kernels.Sweeps;

/// <summary>
/// Element-wise, activation, softmax, loss and optimizer kernels over every length 0..256 and a few large ones:
/// the same bits at every vector width (remainders included) and agreement with float64 references.
/// </summary>
[Trait("Category", "Kernels")]
public class ElementwiseSweepTests
{
    private static float[] Uniform(Rng rng, int n, float lo, float hi)
    {
        var a = new float[n];
        rng.FillUniform(a, lo, hi);
        return a;
    }

    [Fact]
    public void ArithmeticAndReductionsGiveTheSameBitsAtEveryWidthAtEveryLength()
    {
        var rng = new Rng(21);
        foreach (int n in Lengths())
        {
            var a = Uniform(rng, n, -3, 3);
            var b = Uniform(rng, n, -3, 3);
            float[] got = SameBits($"arithmetic n={n}", () =>
            {
                float[] add = new float[n], sub = new float[n], mul = new float[n], scale = new float[n];
                ElementwiseKernels.Add(a, b, add);
                ElementwiseKernels.Sub(a, b, sub);
                ElementwiseKernels.Mul(a, b, mul);
                ElementwiseKernels.Scale(a, 0.3f, scale);
                var axpy = (float[])b.Clone();
                ElementwiseKernels.AddScaled(axpy, a, -1.7f);
                var inPlace = (float[])b.Clone();
                ElementwiseKernels.AddInPlace(inPlace, a);
                float[] sums = [(float)ElementwiseKernels.Sum(a), (float)ElementwiseKernels.Dot(a, b), (float)ElementwiseKernels.SumSquares(a)];
                return Join(add, sub, mul, scale, axpy, inPlace, sums);
            });
            for (int i = 0; i < n; i++)
            {
                // Each element is one IEEE operation (a fused one for AddScaled), so the expected bits are known exactly.
                Assert.Equal(a[i] + b[i], got[i]);
                Assert.Equal(a[i] - b[i], got[n + i]);
                Assert.Equal(a[i] * b[i], got[2 * n + i]);
                Assert.Equal(a[i] * 0.3f, got[3 * n + i]);
                Assert.Equal(MathF.FusedMultiplyAdd(a[i], -1.7f, b[i]), got[4 * n + i]);
                Assert.Equal(b[i] + a[i], got[5 * n + i]);
            }
            double sum = 0, dot = 0, sq = 0;
            for (int i = 0; i < n; i++)
            {
                sum += a[i];
                dot += (double)a[i] * b[i];
                sq += (double)a[i] * a[i];
            }
            Close($"sums n={n}", got.AsSpan(6 * n), [sum, dot, sq], 1e-5 * Math.Sqrt(n + 1), 1e-6);
        }
    }

    [Fact]
    public void RowBroadcastAndColumnSumsGiveTheSameBitsAtEveryWidth()
    {
        var rng = new Rng(22);
        foreach (int cols in Lengths(includeZero: false))
        {
            const int rows = 3;
            var x = Uniform(rng, rows * cols, -1, 1);
            var v = Uniform(rng, cols, -1, 1);
            float[] got = SameBits($"broadcast cols={cols}", () =>
            {
                var y = new float[x.Length];
                ElementwiseKernels.AddRowBroadcast(x, v, y, rows, cols);
                var s = new float[cols];
                ElementwiseKernels.SumOverRows(x, s, rows, cols, accumulate: false);
                return Join(y, s);
            });
            for (int j = 0; j < cols; j++)
            {
                Assert.Equal(x[cols + j] + v[j], got[cols + j]);
                Assert.Equal(((0f + x[j]) + x[cols + j]) + x[2 * cols + j], got[rows * cols + j]);
            }
        }
    }

    private delegate void Unary(ReadOnlySpan<float> x, Span<float> y);

    private delegate void Binary(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);

    [Fact]
    public void ActivationsGiveTheSameBitsAtEveryWidthAndMatchFloat64()
    {
        var rng = new Rng(23);
        var forwards = new (string Name, Unary Kernel, Func<double, double> Reference, float Lo, float Hi)[]
        {
            ("relu", ActivationKernels.ReluForward, x => Math.Max(0, x), -5, 5),
            ("tanh", ActivationKernels.TanhForward, Math.Tanh, -12, 12),
            ("sigmoid", ActivationKernels.SigmoidForward, ReferenceMath.Sigmoid, -30, 30),
            ("gelu", ActivationKernels.GeluForward, x => x * ReferenceMath.NormalCdf(x), -8, 8),
            ("gelu_tanh", ActivationKernels.GeluTanhForward, x => 0.5 * x * (1 + Math.Tanh(ReferenceMath.GeluTanhInner(x))), -8, 8),
            ("silu", ActivationKernels.SiluForward, x => x * ReferenceMath.Sigmoid(x), -20, 20),
            ("exp", ActivationKernels.Exp, Math.Exp, -80, 80),
        };
        var backwards = new (string Name, Binary Kernel, Func<double, double, double> Reference, bool FromOutput)[]
        {
            ("relu", ActivationKernels.ReluBackward, (g, y) => y > 0 ? g : 0, true),
            ("tanh", ActivationKernels.TanhBackward, (g, y) => g * (1 - y * y), true),
            ("sigmoid", ActivationKernels.SigmoidBackward, (g, y) => g * y * (1 - y), true),
            ("gelu", ActivationKernels.GeluBackward, (g, x) => g * (ReferenceMath.NormalCdf(x) + x * ReferenceMath.NormalPdf(x)), false),
            ("gelu_tanh", ActivationKernels.GeluTanhBackward, (g, x) =>
            {
                double t = Math.Tanh(ReferenceMath.GeluTanhInner(x));
                return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Math.Sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * x * x));
            }, false),
            ("silu", ActivationKernels.SiluBackward, (g, x) =>
            {
                double s = ReferenceMath.Sigmoid(x);
                return g * s * (1 + x * (1 - s));
            }, false),
        };
        foreach (int n in Lengths())
        {
            foreach (var (name, kernel, reference, lo, hi) in forwards)
            {
                var x = Uniform(rng, n, lo, hi);
                float[] y = SameBits($"{name} n={n}", () =>
                {
                    var r = new float[n];
                    kernel(x, r);
                    return r;
                });
                var expected = x.Select(v => reference(v)).ToArray();
                Close($"{name} n={n}", y, expected, 2e-7, 5e-7);
            }
            foreach (var (name, kernel, reference, fromOutput) in backwards)
            {
                var g = Uniform(rng, n, -2, 2);
                var x = Uniform(rng, n, -6, 6);
                if (fromOutput)
                {
                    // These read the forward output: feed them one.
                    var y = new float[n];
                    (name == "relu" ? (Unary)ActivationKernels.ReluForward : name == "tanh" ? ActivationKernels.TanhForward : ActivationKernels.SigmoidForward)(x, y);
                    x = y;
                }
                float[] dx = SameBits($"{name}' n={n}", () =>
                {
                    var r = new float[n];
                    kernel(g, x, r);
                    return r;
                });
                var expected = Enumerable.Range(0, n).Select(i => reference(g[i], x[i])).ToArray();
                // Near saturation 1 − t² cancels: a float t carries an absolute error of about 1e-7 into it.
                Close($"{name}' n={n}", dx, expected, 3e-6, 1e-6);
            }
        }
    }

    [Fact]
    public void ExpHandlesTheEdgesOfItsRange()
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 88.72f, 88.8f, -87.3f, -87.4f, -104f, 0f, -0f, 1e-30f];
        var y = SameBits("exp edges", () =>
        {
            var r = new float[x.Length];
            ActivationKernels.Exp(x, r);
            return r;
        });
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(float.PositiveInfinity, y[1]);
        Assert.Equal(0f, y[2]);
        Assert.True(float.IsFinite(y[3]) && Math.Abs(y[3] / Math.Exp(x[3]) - 1) < 1e-6, $"exp(88.72) = {y[3]}");
        Assert.Equal(float.PositiveInfinity, y[4]);
        Assert.True(Math.Abs(y[5] / Math.Exp(x[5]) - 1) < 1e-6, $"exp(-87.3) = {y[5]}");
        Assert.Equal(0f, y[6]); // below the smallest normal: flushed, never subnormal
        Assert.Equal(0f, y[7]);
        Assert.Equal(1f, y[8]);
        Assert.Equal(1f, y[9]);
        Assert.Equal(1f, y[10]);
    }

    [Fact]
    public void SoftmaxLogSoftmaxAndLossesGiveTheSameBitsAtEveryWidthAndMatchFloat64()
    {
        var rng = new Rng(24);
        foreach (int cols in Lengths(includeZero: false))
        {
            const int rows = 2;
            var x = Uniform(rng, rows * cols, -20, 20);
            var dy = Uniform(rng, rows * cols, -1, 1);
            int[] labels = [cols / 3, cols - 1];
            float[] got = SameBits($"softmax cols={cols}", () =>
            {
                float[] y = new float[x.Length], ly = new float[x.Length], dx = new float[x.Length], ldx = new float[x.Length];
                SoftmaxKernels.Forward(x, y, rows, cols);
                SoftmaxKernels.Backward(dy, y, dx, rows, cols);
                SoftmaxKernels.LogSoftmaxForward(x, ly, rows, cols);
                SoftmaxKernels.LogSoftmaxBackward(dy, ly, ldx, rows, cols);
                var probs = new float[x.Length];
                var dlogits = new float[x.Length];
                float ce = LossKernels.CrossEntropyForward(x, labels, probs, rows, cols);
                LossKernels.CrossEntropyBackward(probs, labels, 1.5f, dlogits, rows, cols);
                float mse = LossKernels.MseForward(x, dy);
                var dmse = new float[x.Length];
                LossKernels.MseBackward(x, dy, 0.5f, dmse);
                return Join(y, dx, ly, ldx, probs, dlogits, [ce, mse], dmse);
            });
            int n = rows * cols;
            var ySoft = new double[n];
            var lySoft = new double[n];
            double ce2 = 0;
            for (int r = 0; r < rows; r++)
            {
                double max = double.NegativeInfinity, s = 0;
                for (int j = 0; j < cols; j++) max = Math.Max(max, x[r * cols + j]);
                for (int j = 0; j < cols; j++) s += Math.Exp(x[r * cols + j] - max);
                for (int j = 0; j < cols; j++)
                {
                    ySoft[r * cols + j] = Math.Exp(x[r * cols + j] - max) / s;
                    lySoft[r * cols + j] = x[r * cols + j] - max - Math.Log(s);
                }
                ce2 -= lySoft[r * cols + labels[r]];
            }
            Close($"softmax cols={cols}", got.AsSpan(0, n), ySoft, 1e-7, 2e-6);
            Close($"log-softmax cols={cols}", got.AsSpan(2 * n, n), lySoft, 2e-6, 1e-6);
            Close($"cross-entropy cols={cols}", got.AsSpan(6 * n, 1), [ce2 / rows], 1e-6, 1e-6);
        }
    }

    [Fact]
    public void OptimizerUpdatesGiveTheSameBitsAtEveryWidthAtEveryLength()
    {
        var rng = new Rng(25);
        foreach (int n in Lengths())
        {
            var p0 = Uniform(rng, n, -1, 1);
            var g = Uniform(rng, n, -0.1f, 0.1f);
            SameBits($"sgd n={n}", () =>
            {
                var p = (float[])p0.Clone();
                var buf = new float[n];
                var plain = (float[])p0.Clone();
                for (int step = 0; step < 3; step++)
                {
                    OptimizerKernels.SgdStep(p, g, buf, 0.1f, 0.9f, 0.1f, 1e-2f, false, step == 0);
                    OptimizerKernels.SgdStep(plain, g, default, 0.1f, 0f, 0f, 0f, false, step == 0);
                }
                var nesterov = (float[])p0.Clone();
                var nbuf = new float[n];
                OptimizerKernels.SgdStep(nesterov, g, nbuf, 0.1f, 0.9f, 0f, 0f, true, true);
                OptimizerKernels.SgdStep(nesterov, g, nbuf, 0.1f, 0.9f, 0f, 0f, true, false);
                return Join(p, buf, plain, nesterov, nbuf);
            });
            float[] adam = SameBits($"adam n={n}", () =>
            {
                var p = (float[])p0.Clone();
                var m = new float[n];
                var v = new float[n];
                var pw = (float[])p0.Clone();
                var mw = new float[n];
                var vw = new float[n];
                for (long step = 1; step <= 3; step++)
                {
                    OptimizerKernels.AdamStep(p, g, m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, false, step);
                    OptimizerKernels.AdamStep(pw, g, mw, vw, 1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, true, step);
                }
                return Join(p, m, v, pw, mw, vw);
            });
            // One float64 Adam step's worth of checking: three steps of the reference.
            var pr = p0.Select(v => (double)v).ToArray();
            var mr = new double[n];
            var vr = new double[n];
            for (int step = 1; step <= 3; step++)
            {
                for (int i = 0; i < n; i++)
                {
                    double gi = g[i] + 1e-2 * pr[i];
                    mr[i] = 0.9 * mr[i] + 0.1 * gi;
                    vr[i] = 0.999 * vr[i] + 0.001 * gi * gi;
                    double mhat = mr[i] / (1 - Math.Pow(0.9, step)), vhat = vr[i] / (1 - Math.Pow(0.999, step));
                    pr[i] -= 1e-3 * mhat / (Math.Sqrt(vhat) + 1e-8);
                }
            }
            Close($"adam n={n}", adam.AsSpan(0, n), pr, 1e-6, 1e-6);
        }
    }
}
