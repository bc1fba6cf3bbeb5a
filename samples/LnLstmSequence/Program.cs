// A character-level language model of one's own, built from an LN-LSTM layer, trained with a hand-written
// loop and truncated backpropagation through time: the text is read as parallel streams cut into
// consecutive chunks, and the recurrent state is carried from one chunk into the next with Detach(), so it
// keeps its memory while gradients stop at the chunk boundary.
using NormSharp.Autograd;
using NormSharp.Data.Text;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Layers.Recurrent;
using NormSharp.Optimizers;
using NormSharp.Tensors;

string path = args.Length > 0 ? args[0] : "README.md";
string text = File.ReadAllText(path);
var vocabulary = CharVocabulary.Build(text);
int[] ids = vocabulary.Encode(text);
const int Streams = 16, Chunk = 32, Epochs = 3;
int perStream = (ids.Length - 1) / Streams, chunks = perStream / Chunk;
Console.WriteLine($"{path}: {ids.Length} characters, {vocabulary.Size} symbols, {Streams} streams of {chunks} chunks");

var rng = new Rng(7);
var model = new CharLstm(vocabulary.Size, embedding: 32, hidden: 128, rng);
var optimizer = new Adam(model.Parameters(), lr: 3e-3);
var inputs = new int[Streams * Chunk];
var targets = new int[Streams * Chunk];
var bits = new List<double>();
(Variable H, Variable C)? stale = null;
for (int epoch = 0; epoch < Epochs; epoch++)
{
    Variable? h = null, c = null; // each epoch starts the streams from a zero state
    for (int k = 0; k < chunks; k++)
    {
        // Stream s reads its own contiguous stretch of the text; row s·Chunk + t holds its step t.
        for (int s = 0; s < Streams; s++)
            for (int t = 0; t < Chunk; t++)
            {
                int at = s * perStream + k * Chunk + t;
                inputs[s * Chunk + t] = ids[at];
                targets[s * Chunk + t] = ids[at + 1];
            }
        optimizer.ZeroGrad();
        var (logits, hNext, cNext) = model.Step(inputs, Streams, Chunk, h, c);
        var loss = F.CrossEntropy(logits, targets);
        bits.Add(LanguageModelMetrics.BitsPerCharacter(loss.Item()));
        loss.Backward();
        GradientClipping.ClipGlobalNorm(model.Parameters(), maxNorm: 1.0);
        optimizer.Step();
        if (epoch == 0 && k == 0) stale = (hNext, cNext);
        // Carry the state as a copy outside this step's graph.
        h = hNext.Detach();
        c = cNext.Detach();
    }
}
double first = bits.Take(10).Average(), last = bits.TakeLast(10).Average();
Console.WriteLine($"bits per character: {first:F2} over the first 10 chunks, {last:F2} over the last 10");

// Without Detach, the state would be a result of an ended step: NormSharp refuses it rather than read reused memory.
try
{
    model.Step(inputs, Streams, Chunk, stale!.Value.H, stale.Value.C);
    Console.WriteLine("a state from an ended step was accepted");
    return 1;
}
catch (StaleVariableException e)
{
    Console.WriteLine("a state carried without Detach() is refused: " + e.Message.Split(". ")[0] + ".");
}
return last < 0.75 * first ? 0 : 1;

/// <summary>Character embedding → LN-LSTM (batch-first) → a linear read-out of every step's hidden state.</summary>
sealed class CharLstm(int symbols, int embedding, int hidden, Rng rng) : Module
{
    public Embedding Embed { get; } = new(symbols, embedding, rng);
    public RecurrentLayer Rnn { get; } = new(CellKind.LnLstm, embedding, hidden, rng, batchFirst: true);
    public Linear Head { get; } = new(hidden, symbols, rng);

    /// <summary>Logits of the next character at every position, from a zero state; input holds ids as [streams, steps].</summary>
    public override Variable Forward(Variable input)
    {
        int streams = input.Value.Dim(0), steps = input.Value.Dim(1);
        var embedded = F.Reshape(F.Embedding(input.Value.Reshape(-1), Embed.Weight), streams, steps, -1);
        return Head.Forward(F.Reshape(Rnn.Run(embedded).Outputs!, streams * steps, -1));
    }

    /// <summary>One chunk from the state (h, c) the last chunk ended in (zeros when null): the logits and the state it ends in.</summary>
    public (Variable Logits, Variable H, Variable C) Step(int[] ids, int streams, int steps, Variable? h, Variable? c)
    {
        var embedded = F.Reshape(F.Embedding(ids, Embed.Weight), streams, steps, -1);
        var output = Rnn.Run(embedded, h is null ? null : [h], c is null ? null : [c]);
        return (Head.Forward(F.Reshape(output.Outputs!, streams * steps, -1)), output.FinalH[0], output.FinalC[0]);
    }
}
