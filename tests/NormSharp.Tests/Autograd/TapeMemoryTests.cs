using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Autograd;

/// <summary>Forward passes that never reach a backward pass do not pile up.</summary>
public class TapeMemoryTests
{
    [Fact]
    public void TenThousandForwardPassesWithoutNoGradStayWithinBoundedMemory()
    {
        // Runs on a thread of its own so that its tape starts empty and nothing else records on it.
        long peak = 0, heapAfter = 0;
        int correct = 0;
        var thread = new Thread(() =>
        {
            var rng = new Rng(5);
            var model = new Sequential(new Linear(784, 64, rng), new ReLU(), new Linear(64, 10, rng));
            var batch = Tensor.Zeros(100, 784);
            rng.FillUniform(batch.Span, 0, 1);
            var x = Variable.Constant(batch);
            for (int i = 0; i < 10_000; i++)
            {
                var logits = model.Forward(x); // evaluation without GradMode.NoGrad(): each pass records a graph
                if (logits.Value[i % 10] > 0) correct++;
                peak = Math.Max(peak, Tape.Current.BytesInUse);
            }
            Tape.Current.Release();
            GC.Collect();
            heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        });
        thread.Start();
        thread.Join();
        // One pass records ~0.3 MB; 10,000 would hold ~3 GB if nothing were taken back.
        Assert.True(peak < 256L << 20, $"the tape grew to {peak >> 20} MB");
        Assert.True(heapAfter < 512L << 20, $"the heap holds {heapAfter >> 20} MB after releasing the tape");
    }

    [Fact]
    public void ResultsThatAreStillReferencedAreKeptAndTheLimitSaysWhy()
    {
        Exception? error = null;
        var kept = new List<Variable>();
        var thread = new Thread(() =>
        {
            var tape = Tape.Current;
            tape.MemoryLimitBytes = 96L << 20;
            var rng = new Rng(5);
            var model = new Linear(1000, 1000, rng);
            var x = Variable.Constant(Tensor.Zeros(256, 1000));
            try
            {
                for (int i = 0; i < 1000; i++) kept.Add(model.Forward(x)); // ~1 MB each, all kept
            }
            catch (TapeMemoryException e)
            {
                error = e;
            }
            // What was kept is intact.
            Assert.Equal(256 * 1000, kept[0].Value.Length);
            tape.Release();
        });
        thread.Start();
        thread.Join();
        Assert.NotNull(error);
        Assert.Contains("GradMode.NoGrad()", error!.Message);
        Assert.True(kept.Count > 50, $"failed after only {kept.Count} passes");
    }

    [Fact]
    public void ReleaseGivesTheTapesBuffersBack()
    {
        long held = 0, afterRelease = -1;
        var thread = new Thread(() =>
        {
            var w = Variable.Parameter(Tensor.Zeros(1000, 1000));
            F.Sum(F.Mul(w, w)).Backward();
            held = Tape.Current.BytesHeld;
            Tape.Current.Release();
            afterRelease = Tape.Current.BytesHeld;
        });
        thread.Start();
        thread.Join();
        Assert.True(held >= 4_000_000);
        Assert.Equal(0, afterRelease);
    }
}
