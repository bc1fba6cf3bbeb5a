using NormSharp.Autograd;
using NormSharp.Data;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Autograd;

/// <summary>Runs alone: its allocation test counts the process's gen-2 collections, which other tests' large allocations would trigger.</summary>
[CollectionDefinition(nameof(VariableLifetimeTests), DisableParallelization = true)]
public sealed class VariableLifetimeCollection;

/// <summary>A variable a caller holds keeps its value or fails loudly; it never silently changes.</summary>
[Collection(nameof(VariableLifetimeTests))]
public class VariableLifetimeTests
{
    private static (Linear Model, Variable X) TinyModel()
    {
        var rng = new Rng(3);
        var x = Tensor.Zeros(4, 3);
        rng.FillUniform(x.Span, -1, 1);
        return (new Linear(3, 2, rng), Variable.Constant(x));
    }

    [Fact]
    public void LossesKeptAcrossStepsAreDistinctObjectsThatNeverShowAnotherStepsValue()
    {
        var (model, x) = TinyModel();
        var kept = new List<Variable>();
        var values = new List<float>();
        for (int step = 0; step < 5; step++)
        {
            model.Weight.Value.Span[0] += 0.5f; // every step computes a different loss
            var loss = F.Sum(F.Mul(model.Forward(x), model.Forward(x)));
            values.Add(loss.Item());
            loss.Backward();
            kept.Add(loss);
        }
        Assert.Equal(5, kept.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal(5, values.Distinct().Count());
        // The last step's loss is still readable; the earlier ones say which step made them.
        Assert.Equal(values[^1], kept[^1].Item());
        for (int i = 0; i < 4; i++)
        {
            var e = Assert.Throws<StaleVariableException>(() => kept[i].Item());
            Assert.Contains("Detach()", e.Message);
        }
    }

    [Fact]
    public void AnOldResultUsedAsAnInputOfTheNextStepIsRefusedNotSilentlyReplaced()
    {
        var (model, x) = TinyModel();
        var old = F.Relu(model.Forward(x));
        F.Sum(old).Backward();
        var fresh = F.Relu(model.Forward(x)); // the next step starts and reuses old's memory
        Assert.False(ReferenceEquals(old, fresh));
        var e = Assert.Throws<StaleVariableException>(() => F.Relu(old));
        Assert.Contains("step", e.Message);
        Assert.Throws<StaleVariableException>(() => old.Value);
        Assert.Throws<StaleVariableException>(() => old.Grad);
    }

    [Fact]
    public void DetachKeepsAValueThroughLaterSteps()
    {
        var (model, x) = TinyModel();
        var h = model.Forward(x);
        var kept = h.Detach();
        float[] expected = h.Value.ToArray();
        F.Sum(h).Backward();
        for (int i = 0; i < 3; i++)
        {
            model.Weight.Value.Span[0] += 1f;
            F.Sum(model.Forward(x)).Backward();
        }
        Assert.Equal(expected, kept.Value.ToArray());
        Assert.False(kept.RequiresGrad);
        Assert.True(kept.IsLeaf);
        // A detached state can enter the next step's graph; no gradient flows into the old one.
        var y = F.Sum(F.Mul(model.Forward(x), F.Add(kept, kept)));
        y.Backward();
        Assert.True(model.Weight.HasGrad);
    }

    [Fact]
    public void AConstantOfAReusedBufferFailsInsteadOfGivingWrongGradients()
    {
        var images = Tensor.Zeros(8, 3);
        new Rng(1).FillUniform(images.Span, -1, 1);
        var loader = new BatchLoader(new Dataset("d", images, [0, 1, 0, 1, 0, 1, 0, 1], 2, 1, 3), batchSize: 2, seed: 1);
        var model = new Linear(3, 2, new Rng(2));
        Assert.True(loader.Next());
        var loss = F.CrossEntropy(model.Forward(Variable.Constant(loader.Batch)), loader.Labels);
        Assert.True(loader.Next()); // the loader alternates two buffers: fetching the next batch leaves this one intact
        Assert.True(loader.Next()); // the one after that reuses the buffer the graph still needs
        var e = Assert.Throws<StaleVariableException>(() => loss.Backward());
        Assert.Contains("overwritten", e.Message);
    }

    [Fact]
    public void AMseTargetOverwrittenBeforeBackwardIsRefused()
    {
        var (model, x) = TinyModel();
        var target = Tensor.Zeros(4, 2);
        var loss = F.Mse(model.Forward(x), target);
        target.MarkModified();
        Assert.Throws<StaleVariableException>(() => loss.Backward());
    }

    [Fact]
    public void InferenceResultsLiveForeverAndParametersSurviveInPlaceUpdates()
    {
        var (model, x) = TinyModel();
        Variable kept;
        using (GradMode.NoGrad()) kept = model.Forward(x);
        float[] expected = kept.Value.ToArray();
        for (int i = 0; i < 3; i++) F.Sum(model.Forward(x)).Backward();
        Assert.Equal(expected, kept.Value.ToArray());
        model.Weight.Value.CopyFrom(Tensor.Zeros(2, 3)); // loading weights bumps the version; a parameter stays usable
        Assert.Equal(0f, model.Weight.Value[0]);
    }

    [Fact]
    public void ASecondStepAllocatesOnlySmallObjects()
    {
        var rng = new Rng(1);
        var model = new Mlp([32, 64, 64, 10], NormKind.Layer, rng);
        var opt = new NormSharp.Optimizers.Adam(model.Parameters(), 1e-3);
        var x = Tensor.Zeros(8, 32);
        rng.FillUniform(x.Span, 0, 1);
        int[] labels = [1, 2, 3, 4, 5, 6, 7, 8];
        void Step()
        {
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.Forward(Variable.Constant(x)), labels);
            loss.Backward();
            opt.Step();
        }
        for (int i = 0; i < 50; i++) Step();
        int gen2 = GC.CollectionCount(2);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 200;
        Assert.True(perStep < 4096, $"a training step allocated {perStep} bytes");
        Assert.Equal(gen2, GC.CollectionCount(2));
    }
}
