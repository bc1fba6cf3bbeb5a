using System.Text;
using NormSharp.Data.Text;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Generation;

/// <summary>What to do with prompt characters the vocabulary does not know.</summary>
public enum UnknownCharacterPolicy
{
    /// <summary>Refuse the prompt, naming the characters.</summary>
    Reject,
    /// <summary>Read each as the reserved unknown id (<see cref="CharVocabulary.UnknownId"/>).</summary>
    MapToUnknown,
}

/// <summary>
/// Samples text from a character-level language model, one character at a time: each step reads the last
/// <see cref="ILanguageModel.ContextLength"/> characters, divides the logits by the temperature and draws the next
/// character from their softmax (temperature 0 takes the most likely one). The unknown id is never produced. The
/// same model, prompt, temperature and seed give the same text.
/// </summary>
public sealed class TextGenerator
{
    private readonly ILanguageModel _model;
    private readonly CharVocabulary _vocabulary;

    /// <summary>Samples from <paramref name="model"/>, whose ids are those of <paramref name="vocabulary"/>.</summary>
    /// <exception cref="InvalidValueException">The model's vocabulary size differs from the vocabulary's.</exception>
    public TextGenerator(ILanguageModel model, CharVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (model.VocabularySize != vocabulary.Size)
            throw new InvalidValueException(nameof(vocabulary), $"TextGenerator: the model predicts {model.VocabularySize} ids but the vocabulary has {vocabulary.Size}.");
        _model = model;
        _vocabulary = vocabulary;
    }

    /// <summary>
    /// The ids of <paramref name="prompt"/> under <paramref name="policy"/>. An empty prompt starts after a line
    /// break (entries of a corpus are separated by one) when the vocabulary has it.
    /// </summary>
    /// <exception cref="InvalidValueException">The prompt holds unknown characters under <see cref="UnknownCharacterPolicy.Reject"/>, or is empty and the vocabulary has no line break.</exception>
    public int[] EncodePrompt(string prompt, UnknownCharacterPolicy policy = UnknownCharacterPolicy.Reject)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Length == 0)
        {
            var newline = new Rune('\n');
            if (!_vocabulary.Contains(newline))
                throw new InvalidValueException(nameof(prompt), "the prompt is empty and the vocabulary has no line break to start from; give a prompt.");
            return [_vocabulary.IdOf(newline)];
        }
        var unknown = _vocabulary.UnknownCharacters(prompt);
        if (unknown.Count > 0 && policy == UnknownCharacterPolicy.Reject)
            throw new InvalidValueException(nameof(prompt),
                $"the prompt holds {unknown.Count} character{(unknown.Count == 1 ? "" : "s")} the model's vocabulary does not know: {string.Join(", ", unknown.Select(Describe))}.");
        return _vocabulary.Encode(prompt);
    }

    /// <summary>
    /// Yields <paramref name="length"/> sampled characters after <paramref name="prompt"/>, each as soon as it is drawn.
    /// </summary>
    /// <exception cref="InvalidValueException">The length is negative, the temperature negative or not finite, or the prompt is refused (see <see cref="EncodePrompt"/>).</exception>
    public IEnumerable<string> Generate(string prompt, int length, float temperature, ulong seed, UnknownCharacterPolicy policy = UnknownCharacterPolicy.Reject)
    {
        if (length < 0) throw new InvalidValueException(nameof(length), $"the length must not be negative, got {length}.");
        if (!(temperature >= 0f) || float.IsInfinity(temperature)) throw new InvalidValueException(nameof(temperature), $"the temperature must be 0 or a positive number, got {temperature}.");
        var context = new List<int>(EncodePrompt(prompt, policy));
        return Sample(context, length, temperature, seed);
    }

    private IEnumerable<string> Sample(List<int> context, int length, float temperature, ulong seed)
    {
        var rng = new Rng(seed);
        var module = _model as Module;
        bool wasTraining = module?.IsTraining ?? false;
        module?.Eval();
        try
        {
            for (int i = 0; i < length; i++)
            {
                int start = Math.Max(0, context.Count - _model.ContextLength);
                var logits = _model.NextTokenLogits(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(context)[start..]);
                int next = Pick(logits, temperature, rng);
                context.Add(next);
                yield return _vocabulary.Decode(next);
            }
        }
        finally
        {
            if (wasTraining) module!.Train();
        }
    }

    /// <summary>The next id: the most likely known one at temperature 0, else a draw from softmax(logits / temperature) over the known ids.</summary>
    internal static int Pick(float[] logits, float temperature, Rng rng)
    {
        int first = CharVocabulary.UnknownId + 1;
        if (logits.Length <= first) throw new InvalidValueException(nameof(logits), "the model has no known character to produce.");
        for (int i = first; i < logits.Length; i++)
            if (!float.IsFinite(logits[i]))
                throw new NormSharpException($"the model's logit of id {i} is {logits[i]}: its weights are not finite (did its training diverge?).");
        int best = first;
        for (int i = first + 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        if (temperature == 0f) return best;
        double max = logits[best];
        var weights = new double[logits.Length];
        double total = 0;
        for (int i = first; i < logits.Length; i++)
        {
            weights[i] = Math.Exp((logits[i] - max) / temperature);
            total += weights[i];
        }
        double u = rng.NextDouble() * total;
        for (int i = first; i < logits.Length; i++)
        {
            u -= weights[i];
            if (u < 0) return i;
        }
        return best;
    }

    private static string Describe(Rune r) =>
        Rune.IsControl(r) || Rune.IsWhiteSpace(r) ? $"U+{r.Value:X4}" : $"'{r}' (U+{r.Value:X4})";
}
