using System.Globalization;
using NormSharp.Errors;
using NormSharp.Layers.Recurrent;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// What training a recipe's model needs in memory, estimated from its configuration before anything is
/// allocated: parameters with their gradients and optimizer state, and the activations a step keeps for its
/// backward pass. An estimate (within a factor of about two), good enough to refuse at once a model that cannot
/// fit instead of failing deep inside an allocation.
/// </summary>
/// <param name="Parameters">Trainable numbers in the model.</param>
/// <param name="LargestTensor">Elements of its largest weight.</param>
/// <param name="ParameterBytes">Parameters and their gradients.</param>
/// <param name="OptimizerBytes">The optimizer's state (Adam's two moments, SGD's momentum).</param>
/// <param name="ActivationBytes">What one training step keeps for its backward pass, or evaluation needs, whichever is more.</param>
public sealed record MemoryEstimate(long Parameters, long LargestTensor, long ParameterBytes, long OptimizerBytes, long ActivationBytes)
{
    /// <summary>The whole estimate.</summary>
    public long TotalBytes => ParameterBytes + OptimizerBytes + ActivationBytes;

    /// <summary>
    /// The estimate for <paramref name="config"/>'s model on samples of <paramref name="steps"/> time steps of
    /// <paramref name="inputsPerStep"/> numbers (one step for an MLP), with <paramref name="outputs"/> outputs per
    /// scored step, evaluated in batches of <paramref name="evaluationBatch"/>.
    /// </summary>
    public static MemoryEstimate Of(TrainingConfig config, int inputsPerStep, int steps, int outputs, int evaluationBatch)
    {
        ArgumentNullException.ThrowIfNull(config);
        double parameters = 0, largest = 0, activationsPerSample;
        if (config.Model == ModelKind.Rnn)
        {
            int gates = config.Cell switch
            {
                CellKind.Rnn => 1,
                CellKind.Gru or CellKind.LnGru => 3,
                _ => 4,
            };
            double h = config.Hidden[0];
            double input = inputsPerStep;
            for (int l = 0; l < config.Layers; l++)
            {
                // Input and recurrent weights, biases, and the normalized forms' gains and biases.
                parameters += gates * h * (input + h) + 4 * gates * h;
                largest = Math.Max(largest, gates * h * Math.Max(input, h));
                input = h;
            }
            parameters += h * outputs + outputs;
            largest = Math.Max(largest, h * outputs);
            // Each recorded step of each layer keeps its gates, cell and hidden state, and the normalization statistics;
            // with truncated backpropagation only the last Bptt steps are recorded (the others run in blocks of that many).
            double recorded = config.Bptt > 0 ? Math.Min(steps, config.Bptt) : steps;
            activationsPerSample = recorded * config.Layers * h * (gates + 6) + (double)steps * inputsPerStep + outputs;
        }
        else
        {
            double previous = (double)inputsPerStep * steps;
            double hiddenUnits = 0;
            foreach (int width in config.Hidden.Append(outputs))
            {
                parameters += previous * width + width + 2.0 * width;
                largest = Math.Max(largest, previous * width);
                hiddenUnits += width;
                previous = width;
            }
            // Per hidden unit: the linear output, the normalized output and the activation.
            activationsPerSample = 3 * hiddenUnits + (double)inputsPerStep * steps;
        }
        int slots = config.Optimizer == OptimizerKind.Sgd ? 1 : 2;
        // Training keeps activations and their gradients; evaluation only the activations, but of a larger batch.
        double activations = Math.Max(2.0 * config.BatchSize, evaluationBatch) * activationsPerSample;
        return new MemoryEstimate(
            Saturate(parameters),
            Saturate(largest),
            Saturate(parameters * 2 * sizeof(float)),
            Saturate(parameters * slots * sizeof(float)),
            Saturate(activations * sizeof(float)));
    }

    /// <summary>Memory this process may use: the machine's, or the container's or the configured GC limit when lower.</summary>
    public static long AvailableBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Throws an <see cref="InvalidValueException"/> that names the figures when the model cannot be trained in <paramref name="availableBytes"/>.</summary>
    public void EnsureFits(long availableBytes)
    {
        if (LargestTensor > Array.MaxLength)
            throw new InvalidValueException(nameof(TrainingConfig.Hidden), string.Create(CultureInfo.InvariantCulture,
                $"the model is too large: training it needs about {Format(TotalBytes)} ({Parameters:N0} parameters; {Format(availableBytes)} is available), and its largest weight has {LargestTensor:N0} elements, more than the {Array.MaxLength:N0} one tensor can hold; use smaller hidden sizes"));
        if (TotalBytes > availableBytes)
            throw new InvalidValueException(nameof(TrainingConfig.Hidden), string.Create(CultureInfo.InvariantCulture,
                $"the model is too large for this machine: training it needs about {Format(TotalBytes)} ({Parameters:N0} parameters: {Format(ParameterBytes)} for weights and gradients, {Format(OptimizerBytes)} of optimizer state, {Format(ActivationBytes)} of activations), but only {Format(availableBytes)} is available; use smaller hidden sizes or a smaller batch"));
    }

    /// <summary>A byte count in words (e.g. 1.5 GB).</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 40 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 40):F1} TiB"),
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F1} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F1} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KiB"),
    };

    private static long Saturate(double v) => v >= long.MaxValue ? long.MaxValue : (long)Math.Ceiling(v);
}
