using NormSharp.Autograd;
using NormSharp.Data.Text;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Layers.Transformer;
using NormSharp.Optimizers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Layers.Transformer;

/// <summary>The Transformer and recurrent character language models: causality, tied weights, training on real text, allocation.</summary>
public class LanguageModelTests
{
    private static TransformerLanguageModel Tiny(bool normFirst = true, NormKind norm = NormKind.Layer, PositionalEncodingKind positional = PositionalEncodingKind.Learned, int vocabulary = 20, ulong seed = 1) =>
        new(new TransformerLanguageModelOptions
        {
            VocabularySize = vocabulary, ContextLength = 16, DModel = 16, Layers = 2, Heads = 2, FeedForward = 32,
            NormFirst = normFirst, Norm = norm, Positional = positional,
        }, new Rng(seed));

    public static TheoryData<int> Models() => [0, 1, 2, 3];

    private static ILanguageModel Model(int which) => which switch
    {
        0 => Tiny(),
        1 => Tiny(normFirst: false, norm: NormKind.Rms, positional: PositionalEncodingKind.Sinusoidal),
        2 => new RecurrentLanguageModel(CellKind.Lstm, 20, 8, 16, 16, new Rng(1)),
        _ => new RecurrentLanguageModel(CellKind.LnLstm, 20, 8, 16, 16, new Rng(1)),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void APredictionDependsOnlyOnEarlierTokens(int which)
    {
        var model = Model(which);
        int[] a = [1, 5, 3, 7, 2, 9, 4, 4, 8, 1];
        int[] b = (int[])a.Clone();
        b[6] = 11; // changes positions 6 onwards only
        using var _ = GradMode.NoGrad();
        var la = ((Module)model).Forward(Variable.Constant(Tensor.FromArray(a.Select(v => (float)v).ToArray()).Reshape(1, 10))).Value.ToArray();
        var lb = ((Module)model).Forward(Variable.Constant(Tensor.FromArray(b.Select(v => (float)v).ToArray()).Reshape(1, 10))).Value.ToArray();
        int v = model.VocabularySize;
        for (int i = 0; i < 6 * v; i++) Assert.True(Math.Abs(la[i] - lb[i]) <= 1e-5, $"logit {i}: {la[i]} against {lb[i]}");
        Assert.NotEqual(la[6 * v], lb[6 * v]);
        // The next-token logits are those of the last position.
        var next = model.NextTokenLogits(a);
        for (int i = 0; i < v; i++) Assert.True(Math.Abs(la[9 * v + i] - next[i]) <= 1e-5, $"next-token logit {i}: {next[i]} against {la[9 * v + i]}");
    }

    [Fact]
    public void TheOutputProjectionIsTheTokenEmbedding()
    {
        var model = Tiny();
        var names = model.NamedParameters().Select(p => p.Name).ToList();
        Assert.Contains("token_embedding.weight", names);
        Assert.Contains("position_embedding.weight", names);
        Assert.Contains("layers.1.self_attn.in_proj_weight", names);
        Assert.Contains("norm.weight", names);
        Assert.DoesNotContain(names, n => n.StartsWith("lm_head", StringComparison.Ordinal));
        var post = Tiny(normFirst: false);
        Assert.DoesNotContain(post.NamedParameters(), p => p.Name.StartsWith("norm.", StringComparison.Ordinal));
        var untied = new TransformerLanguageModel(new TransformerLanguageModelOptions { VocabularySize = 20, DModel = 16, Heads = 2, Layers = 1, TieWeights = false }, new Rng(1));
        Assert.Contains(untied.NamedParameters(), p => p.Name == "lm_head.weight");
    }

    [Fact]
    public void GradientsOfTheWholeModelPassGradCheck()
    {
        var model = new TransformerLanguageModel(new TransformerLanguageModelOptions
        {
            VocabularySize = 7, ContextLength = 5, DModel = 8, Layers = 2, Heads = 2, FeedForward = 8, NormFirst = true,
        }, new Rng(2));
        // Embeddings at unit scale: finite differences of 1e-2 against GPT-2's 0.02 would be far from linear.
        var rng = new Rng(3);
        foreach (var (name, p) in model.NamedParameters())
            if (name.Contains("embedding", StringComparison.Ordinal)) rng.FillUniform(p.Value.Span, -1f, 1f);
        int[] inputs = [1, 2, 3, 4, 5, 6, 1, 2];
        int[] targets = [2, 3, 4, 5, 6, 1, 2, 3];
        // A selection of parameters keeps the finite differences quick: embedding (tied output), attention, a norm.
        var check = model.NamedParameters().Where(p => p.Name is "token_embedding.weight" or "position_embedding.weight" or "layers.0.self_attn.in_proj_weight" or "layers.1.norm2.weight" or "norm.bias")
            .Select(p => p.Parameter).ToArray();
        Ops.OpTesting.AssertGradients(() => model.Loss(inputs, targets, 2), check);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void AModelLearnsTheSampleFortunes(int which)
    {
        string text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "data", "text", "sample-fortunes"));
        var corpus = TextCorpus.FromEntries("sample", FortunesCorpus.Entries(text).ToList());
        var vocabulary = CharVocabulary.Build(corpus.Train);
        var tokens = vocabulary.Encode(corpus.Train);
        var rng = new Rng(3);
        ILanguageModel model = which == 0
            ? new TransformerLanguageModel(new TransformerLanguageModelOptions { VocabularySize = vocabulary.Size, ContextLength = 32, DModel = 32, Layers = 2, Heads = 4, FeedForward = 64 }, rng)
            : new RecurrentLanguageModel(CellKind.LnLstm, vocabulary.Size, 16, 64, 32, rng);
        var optimizer = new AdamW(((Module)model).Parameters(), lr: 3e-3);
        var loader = new CharSequenceLoader(tokens, 32, 8, seed: 4);
        double first = double.NaN, last = 0;
        for (int step = 0; step < 250; step++)
        {
            if (!loader.Next()) loader.Next();
            optimizer.ZeroGrad();
            var loss = model.Loss(loader.Inputs.AsSpan(0, loader.Count * 32), loader.Targets.AsSpan(0, loader.Count * 32), loader.Count);
            float value = loss.Item();
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = value;
            if (step >= 240) last += value / 10;
        }
        // Uniform guessing over the vocabulary costs log2(V) bits per character; the model must do far better.
        Assert.InRange(first, Math.Log(vocabulary.Size) - 0.5, Math.Log(vocabulary.Size) + 0.5);
        Assert.True(LanguageModelMetrics.BitsPerCharacter(last) < 0.7 * Math.Log2(vocabulary.Size), $"{LanguageModelMetrics.BitsPerCharacter(last):F2} bits per character after 250 steps (uniform: {Math.Log2(vocabulary.Size):F2})");
    }

    [Fact]
    public void ASteadyTransformerTrainingStepAllocatesUnderFourKilobytes()
    {
        var model = new TransformerLanguageModel(new TransformerLanguageModelOptions { VocabularySize = 50, ContextLength = 32, DModel = 32, Layers = 4, Heads = 4, FeedForward = 64 }, new Rng(5));
        var optimizer = new AdamW(model.Parameters(), lr: 1e-3);
        var rng = new Rng(6);
        var inputs = new int[4 * 32];
        var targets = new int[4 * 32];
        for (int i = 0; i < inputs.Length; i++) { inputs[i] = rng.NextInt(50); targets[i] = rng.NextInt(50); }
        void Step()
        {
            optimizer.ZeroGrad();
            model.Loss(inputs, targets, 4).Backward();
            optimizer.Step();
        }
        for (int i = 0; i < 5; i++) Step();
        const int Steps = 20;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Steps; i++) Step();
        double perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Steps;
        Assert.True(perStep < 4096, $"{perStep:F0} bytes allocated per step");
    }
}
