using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Tests.Tensors;

/// <summary>Tensor creation helpers and the value-showing ToString.</summary>
public class TensorFactoryTests
{
    [Fact]
    public void FilledFactories()
    {
        Assert.All(Tensor.Ones(2, 3).ToArray(), v => Assert.Equal(1f, v));
        var like = Tensor.Zeros(4, 1);
        Assert.Equal([4, 1], Tensor.OnesLike(like).Shape.ToArray());
        Assert.All(Tensor.FullLike(like, 7f).ToArray(), v => Assert.Equal(7f, v));
        Assert.Equal(0, Tensor.Scalar(2f).Rank);
        Assert.Equal(2f, Tensor.Scalar(2f)[0]);
        Assert.Equal([1f, 0f, 0f, 0f, 1f, 0f], Tensor.Eye(2, 3).ToArray());
        Assert.Equal([2, 2], Tensor.ZerosLike(Tensor.Eye(2)).Shape.ToArray());
    }

    [Fact]
    public void RandomFactoriesAreSeededAndInRange()
    {
        Assert.Equal(Tensor.Randn(new Rng(7), 100).ToArray(), Tensor.Randn(new Rng(7), 100).ToArray());
        Assert.NotEqual(Tensor.Randn(new Rng(7), 100).ToArray(), Tensor.Randn(new Rng(8), 100).ToArray());
        var n = Tensor.Randn(new Rng(1), 20000).ToArray();
        Assert.InRange(n.Average(), -0.05, 0.05);
        Assert.InRange(Math.Sqrt(n.Select(v => (double)v * v).Average()), 0.95, 1.05);
        Assert.All(Tensor.Rand(new Rng(2), 1000).ToArray(), v => Assert.InRange(v, 0f, 0.99999994f));
        Assert.All(Tensor.Uniform(new Rng(3), -2f, 5f, 1000).ToArray(), v => Assert.InRange(v, -2f, 5f));
        var ints = Tensor.RandInt(new Rng(4), -3, 4, 1000).ToArray();
        Assert.All(ints, v => Assert.True(v == MathF.Floor(v) && v >= -3 && v < 4));
        Assert.Equal(7, ints.Distinct().Count());
        Assert.InRange(Tensor.Normal(new Rng(5), 10f, 0.5f, 1000).ToArray().Average(), 9.9, 10.1);
        Assert.Throws<InvalidValueException>(() => Tensor.Normal(new Rng(1), 0f, -1f, 2));
        Assert.Throws<InvalidValueException>(() => Tensor.Uniform(new Rng(1), 2f, 1f, 2));
        Assert.Throws<InvalidValueException>(() => Tensor.RandInt(new Rng(1), 3, 3, 2));
    }

    [Fact]
    public void RangesFollowPyTorch()
    {
        Assert.Equal([0f, 1f, 2f, 3f, 4f], Tensor.Arange(5).ToArray());
        Assert.Equal([1f, 1.5f, 2f, 2.5f], Tensor.Arange(1f, 3f, 0.5f).ToArray());
        Assert.Equal([5f, 3f, 1f], Tensor.Arange(5f, 0f, -2f).ToArray());
        Assert.Equal(10, Tensor.Arange(0f, 1f, 0.1f).Length); // ⌈1/0.1⌉
        Assert.Empty(Tensor.Arange(0).ToArray());
        Assert.Throws<InvalidValueException>(() => Tensor.Arange(0f, 1f, 0f));
        Assert.Throws<InvalidValueException>(() => Tensor.Arange(0f, 1f, -1f));
        Assert.Equal([0f, 0.25f, 0.5f, 0.75f, 1f], Tensor.Linspace(0f, 1f, 5).ToArray());
        Assert.Equal([3f], Tensor.Linspace(3f, 9f, 1).ToArray());
        Assert.Empty(Tensor.Linspace(0f, 1f, 0).ToArray());
    }

    [Fact]
    public void FromArrayOfRectangularAndNestedArrays()
    {
        var m = Tensor.FromArray(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Equal([2, 3], m.Shape.ToArray());
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], m.ToArray());
        var cube = Tensor.FromArray(new float[,,] { { { 1, 2 } }, { { 3, 4 } } });
        Assert.Equal([2, 1, 2], cube.Shape.ToArray());
        Assert.Equal([1f, 2f, 3f, 4f], cube.ToArray());
        var jagged = Tensor.FromArray(new[] { new[] { 1f, 2f }, new[] { 3f, 4f }, new[] { 5f, 6f } });
        Assert.Equal([3, 2], jagged.Shape.ToArray());
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], jagged.ToArray());
        var deep = Tensor.FromArray(new[] { new[] { new[] { 1.5, 2.5 } }, new[] { new[] { 3.0, 4.0 } } });
        Assert.Equal([2, 1, 2], deep.Shape.ToArray());
        Assert.Equal([1.5f, 2.5f, 3f, 4f], deep.ToArray());
        var mixed = Tensor.FromArray(new[] { new int[,] { { 1, 2 } }, new int[,] { { 3, 4 } } });
        Assert.Equal([2, 1, 2], mixed.Shape.ToArray());
        Assert.Equal([1f, 0f, 1f], Tensor.FromArray(new[] { true, false, true }).ToArray());
        Assert.Equal([3], Tensor.FromArray(new long[] { 1, 2, 3 }).Shape.ToArray());
        Assert.Equal([0, 0], Tensor.FromArray(Array.Empty<float[]>()).Shape.ToArray());
        Assert.Equal([2, 0], Tensor.FromArray(new[] { Array.Empty<float>(), Array.Empty<float>() }).Shape.ToArray());
        var copy = new[] { 1f, 2f };
        var t = Tensor.FromArray(copy);
        copy[0] = 9f;
        Assert.Equal(1f, t[0]); // a copy, not a wrap
    }

    [Fact]
    public void FromArrayRejectsRaggedAndNonNumericArrays()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Tensor.FromArray(new[] { new[] { 1f, 2f }, new[] { 3f } }));
        Assert.Contains("values[1]", e.Message);
        Assert.Throws<ShapeMismatchException>(() => Tensor.FromArray(new[] { new[] { 1f }, null! }));
        Assert.Throws<InvalidValueException>(() => Tensor.FromArray(new[] { "a" }));
    }

    [Fact]
    public void ToStringShowsValuesLikePyTorch()
    {
        Assert.Equal("tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]], shape=[2, 2])",
            Tensor.FromArray(new float[,] { { 1, 2.5f }, { -3, 4 } }).ToString());
        Assert.Equal("tensor([[0., 1., 2.],\n        [3., 4., 5.]], shape=[2, 3])", Tensor.Arange(6).Reshape(2, 3).ToString());
        Assert.Equal("tensor(3.1416)", Tensor.Scalar(3.14159f).ToString());
        Assert.Equal("tensor([], shape=[0, 3])", Tensor.Zeros(0, 3).ToString());
        Assert.Equal("tensor([1.0000e-05, 1.0000e+00, 1.0000e+03,        nan], shape=[4])", Tensor.FromArray([1e-5f, 1f, 1000f, float.NaN]).ToString());
        Assert.Equal("tensor([[[0., 1.]],\n\n        [[2., 3.]]], shape=[2, 1, 2])", Tensor.Arange(4).Reshape(2, 1, 2).ToString());
        Assert.Equal("tensor([0.12], shape=[1])", Tensor.FromArray([0.123f]).ToString(new TensorPrintOptions(Precision: 2)));
    }

    [Fact]
    public void ToStringSummarizesLargeTensors()
    {
        Assert.Equal("tensor([   0.,    1.,    2., ..., 1197., 1198., 1199.], shape=[1200])", Tensor.Arange(1200).ToString());
        var lines = Tensor.Arange(2000).Reshape(40, 50).ToString().Split('\n');
        Assert.Equal(7, lines.Length);
        Assert.Equal("        ...,", lines[3]);
        Assert.EndsWith("1997., 1998., 1999.]], shape=[40, 50])", lines[6]);
        // Long rows wrap at the line width.
        Assert.All(Tensor.Randn(new Rng(1), 3, 30).ToString().Split('\n'), l => Assert.True(l.Length <= 80, l));
        Assert.Throws<InvalidValueException>(() => Tensor.Zeros(1).ToString(new TensorPrintOptions(LineWidth: 0)));
    }
}
