using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Interop;

/// <summary>The NormSharp model equivalent to a PyTorch module constructor (same state-dict names and layout).</summary>
internal static class TorchModules
{
    public static Module Build(TorchModuleSpec spec)
    {
        var rng = new Rng(1); // every weight is replaced by the state dict
        return spec.Kind switch
        {
            "nn.Sequential" => new Sequential(spec.Args.Select(a => Build(a as TorchModuleSpec ?? throw new FormatException($"nn.Sequential holds {a}, not a module."))).ToArray()),
            "nn.Linear" => new Linear(spec.Int(0, "in_features"), spec.Int(1, "out_features"), rng, spec.Bool(2, "bias", true)),
            "nn.LayerNorm" => new LayerNorm(spec.Int(0, "normalized_shape"), (float)spec.Number(1, "eps", 1e-5), spec.Bool(2, "elementwise_affine", true), spec.Bool(3, "bias", true)),
            "nn.RMSNorm" => new RmsNorm(spec.Int(0, "normalized_shape"), (float)spec.Number(1, "eps", 1e-5), spec.Bool(2, "elementwise_affine", true)),
            "nn.BatchNorm1d" => new BatchNorm1d(spec.Int(0, "num_features"), (float)spec.Number(1, "eps", 1e-5), (float)spec.Number(2, "momentum", 0.1), spec.Bool(3, "affine", true), spec.Bool(4, "track_running_stats", true)),
            "nn.GroupNorm" => new GroupNorm(spec.Int(0, "num_groups"), spec.Int(1, "num_channels"), (float)spec.Number(2, "eps", 1e-5), spec.Bool(3, "affine", true)),
            "nn.ReLU" => new ReLU(),
            "nn.Tanh" => new Tanh(),
            "nn.Sigmoid" => new Sigmoid(),
            "nn.GELU" when (spec.String(0, "approximate") ?? "none") == "none" => new Gelu(),
            "nn.Dropout" => new Dropout((float)spec.Number(0, "p", 0.5), rng),
            "nn.LSTM" when spec.Int(7, "proj_size", 0) == 0 => new NormSharp.Layers.Recurrent.Lstm(spec.Int(0, "input_size"), spec.Int(1, "hidden_size"), rng,
                spec.Int(2, "num_layers", 1), spec.Bool(3, "bias", true), spec.Bool(4, "batch_first", false), (float)spec.Number(5, "dropout", 0), spec.Bool(6, "bidirectional", false)),
            "nn.GRU" => new NormSharp.Layers.Recurrent.Gru(spec.Int(0, "input_size"), spec.Int(1, "hidden_size"), rng,
                spec.Int(2, "num_layers", 1), spec.Bool(3, "bias", true), spec.Bool(4, "batch_first", false), (float)spec.Number(5, "dropout", 0), spec.Bool(6, "bidirectional", false)),
            "nn.RNN" when (spec.String(3, "nonlinearity") ?? "tanh") == "tanh" => new NormSharp.Layers.Recurrent.Rnn(spec.Int(0, "input_size"), spec.Int(1, "hidden_size"), rng,
                spec.Int(2, "num_layers", 1), spec.Bool(4, "bias", true), spec.Bool(5, "batch_first", false), (float)spec.Number(6, "dropout", 0), spec.Bool(7, "bidirectional", false)),
            "nn.MultiheadAttention" => new NormSharp.Layers.Transformer.MultiheadAttention(spec.Int(0, "embed_dim"), spec.Int(1, "num_heads"), rng,
                (float)spec.Number(2, "dropout", 0), spec.Bool(3, "bias", true), spec.Bool(-1, "batch_first", false)),
            "nn.TransformerEncoderLayer" => new NormSharp.Layers.Transformer.TransformerEncoderLayer(spec.Int(0, "d_model"), spec.Int(1, "nhead"), rng,
                spec.Int(2, "dim_feedforward", 2048), (float)spec.Number(3, "dropout", 0.1), Activation(spec.String(4, "activation") ?? "relu"),
                (float)spec.Number(5, "layer_norm_eps", 1e-5), spec.Bool(6, "batch_first", false), spec.Bool(7, "norm_first", false), spec.Bool(8, "bias", true)),
            _ => throw new NotSupportedException($"the PyTorch module {spec.Kind} has no NormSharp equivalent yet."),
        };
    }

    private static NormSharp.Autograd.F.Activation Activation(string name) => name switch
    {
        "relu" => NormSharp.Autograd.F.Activation.Relu,
        "gelu" => NormSharp.Autograd.F.Activation.Gelu,
        _ => throw new NotSupportedException($"the activation '{name}' of nn.TransformerEncoderLayer has no NormSharp equivalent."),
    };
}
