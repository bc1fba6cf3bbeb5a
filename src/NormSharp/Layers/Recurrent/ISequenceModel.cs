namespace NormSharp.Layers.Recurrent;

/// <summary>A model built around one recurrent layer, whose hidden-state dynamics the trainer reports.</summary>
public interface ISequenceModel
{
    /// <summary>The recurrent layer.</summary>
    RecurrentLayer Rnn { get; }

    /// <summary>Time steps per input.</summary>
    int Steps { get; }
}
