using NormSharp.Layers.Recurrent;

namespace NormSharp.Experiments.Recipes;

/// <summary>
/// Makes an LSTM classifier start exactly where the LN-LSTM classifier of the same seed starts, but for the
/// normalizations: the LN-LSTM and BN-LSTM draw only their input and recurrent weights (their bias is zero with
/// the forget gate's block at 1), while PyTorch's LSTM also draws two uniform biases, which both changes its
/// bias and shifts every later draw (the classifier head). A comparison of the cells is then a comparison of
/// the normalizations and not of the starting points (<see cref="TrainingConfig.MatchedRecurrentInit"/>).
/// </summary>
public static class MatchedRecurrentInit
{
    /// <summary>
    /// Copies into <paramref name="lstm"/> the input and recurrent weights and the head of <paramref name="lnLstm"/>
    /// (built from the same generator state), sets b_ih to the LN-LSTM's bias and b_hh to zero.
    /// </summary>
    public static void StartLikeLnLstm(SequenceClassifier lstm, SequenceClassifier lnLstm)
    {
        ArgumentNullException.ThrowIfNull(lstm);
        ArgumentNullException.ThrowIfNull(lnLstm);
        if (lstm.Rnn.Kind != CellKind.Lstm || lnLstm.Rnn.Kind != CellKind.LnLstm || lstm.Rnn.Cells.Count != lnLstm.Rnn.Cells.Count)
            throw new ArgumentException("MatchedRecurrentInit: needs an LSTM classifier and an LN-LSTM classifier of the same shape.");
        for (int l = 0; l < lstm.Rnn.Cells.Count; l++)
        {
            var target = (LstmCell)lstm.Rnn.Cells[l];
            var source = (LnLstmCell)lnLstm.Rnn.Cells[l];
            target.WeightIh.Value.CopyFrom(source.WeightIh.Value);
            target.WeightHh.Value.CopyFrom(source.WeightHh.Value);
            target.BiasIh.Value.CopyFrom(source.Bias.Value);
            target.BiasHh.Value.Span.Clear();
        }
        lstm.Head.Weight.Value.CopyFrom(lnLstm.Head.Weight.Value);
        if (lstm.Head.Bias is { } bias && lnLstm.Head.Bias is { } sourceBias) bias.Value.CopyFrom(sourceBias.Value);
    }
}
