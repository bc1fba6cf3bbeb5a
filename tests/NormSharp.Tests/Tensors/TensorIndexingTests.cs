using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Tests.Tensors;

public class TensorIndexingTests
{
    [Fact]
    public void TwoIndicesCheckRankAndBounds()
    {
        var m = Tensor.Zeros(4, 4);
        m[1, 2] = 7f;
        Assert.Equal(7f, m[1, 2]);
        Assert.Throws<IndexOutOfRangeException>(() => m[0, 5]);
        Assert.Throws<IndexOutOfRangeException>(() => m[4, 0]);
        Assert.Throws<IndexOutOfRangeException>(() => m[-1, 0]);
        var v = Tensor.Zeros(16);
        var e = Assert.Throws<ShapeMismatchException>(() => v[0, 5]);
        Assert.Contains("[16]", e.Message);
    }

    [Fact]
    public void ThreeIndicesAddressARank3Tensor()
    {
        var t = Tensor.Zeros(2, 3, 4);
        t[1, 2, 3] = 5f;
        Assert.Equal(5f, t.Span[23]);
        Assert.Throws<IndexOutOfRangeException>(() => t[0, 3, 0]);
        Assert.Throws<ShapeMismatchException>(() => Tensor.Zeros(4, 4)[0, 0, 0]);
    }

    [Fact]
    public void ViewsShareTheVersionOfTheirStorage()
    {
        var t = Tensor.Zeros(2, 3);
        var view = t.Reshape(3, 2);
        int v0 = view.Version;
        t.MarkModified();
        Assert.Equal(v0 + 1, view.Version);
        t.Narrow(1, 1).CopyFrom(Tensor.Zeros(1, 3));
        Assert.Equal(v0 + 2, view.Version);
    }
}
