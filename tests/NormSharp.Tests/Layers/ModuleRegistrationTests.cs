using NormSharp.Autograd;
using NormSharp.Errors;
using NormSharp.Layers;
using NormSharp.Tensors;

namespace NormSharp.Tests.Layers;

/// <summary>A module's parts are found from its fields, so none can be lost; tied weights count once.</summary>
public class ModuleRegistrationTests
{
    /// <summary>A custom model written the way a PyTorch user writes one: fields only, no registration.</summary>
    private sealed class ResidualBlock : Module
    {
        private readonly LayerNorm _norm;
        private readonly Linear _fc;
        private readonly Dropout _drop;
        public Variable Scale { get; } = Variable.Parameter(Tensor.Full(0.5f, 1), "scale");

        public ResidualBlock(int width, Rng rng)
        {
            _norm = new LayerNorm(width);
            _fc = new Linear(width, width, rng);
            _drop = new Dropout(0.5f, rng);
        }

        public Dropout Drop => _drop;

        public override Variable Forward(Variable input) => F.Add(input, _drop.Forward(F.Relu(_fc.Forward(_norm.Forward(input)))));
    }

    private sealed class Net : Module
    {
        public Linear Embed { get; }
        public List<ResidualBlock> Blocks { get; } = new();
        public Dictionary<string, Linear> Heads { get; } = new();
        [NotAPart] public Linear? Borrowed { get; set; }

        public Net(Rng rng)
        {
            Embed = new Linear(4, 8, rng);
            Blocks.Add(new ResidualBlock(8, rng));
            Blocks.Add(new ResidualBlock(8, rng));
            Heads["cls"] = new Linear(8, 3, rng);
        }

        public override Variable Forward(Variable input)
        {
            var h = Embed.Forward(input);
            foreach (var b in Blocks) h = b.Forward(h);
            return Heads["cls"].Forward(h);
        }
    }

    [Fact]
    public void PartsAreFoundFromFieldsWithPyTorchNames()
    {
        var net = new Net(new Rng(1)) { Borrowed = new Linear(2, 2, new Rng(2)) };
        var names = net.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal(
        [
            "embed.weight", "embed.bias",
            "blocks.0.scale", "blocks.0.norm.weight", "blocks.0.norm.bias", "blocks.0.fc.weight", "blocks.0.fc.bias",
            "blocks.1.scale", "blocks.1.norm.weight", "blocks.1.norm.bias", "blocks.1.fc.weight", "blocks.1.fc.bias",
            "heads.cls.weight", "heads.cls.bias",
        ], names);
        Assert.Equal(names, net.StateDict().Select(e => e.Name));
    }

    [Fact]
    public void EvalReachesAChildThatWasNeverListed()
    {
        var net = new Net(new Rng(1));
        net.Eval();
        Assert.All(net.Blocks, b => Assert.False(b.Drop.IsTraining));
        var x = Variable.Constant(Tensor.Full(1f, 2, 4));
        using (GradMode.NoGrad())
        {
            var a = net.Forward(x).Value.ToArray();
            var b = net.Forward(x).Value.ToArray();
            Assert.Equal(a, b); // dropout is off
        }
        net.Train();
        Assert.All(net.Blocks, b => Assert.True(b.Drop.IsTraining));
    }

    [Fact]
    public void PartsAddedAfterConstructionAreFound()
    {
        var net = new Net(new Rng(1));
        int before = net.Parameters().Count;
        net.Blocks.Add(new ResidualBlock(8, new Rng(3)));
        Assert.Equal(before + 5, net.Parameters().Count);
    }

    /// <summary>An output projection that reuses a weight owned elsewhere (weight tying).</summary>
    private sealed class TiedHead(Variable weight) : Module
    {
        public Variable Weight { get; } = weight;
        public override Variable Forward(Variable input) => F.Linear(input, Weight);
    }

    private sealed class TiedLm : Module
    {
        public Variable Embedding { get; } = Variable.Parameter(Tensor.Zeros(10, 4), "embedding");
        public TiedHead Out { get; }

        public TiedLm() => Out = new TiedHead(Embedding);

        public override Variable Forward(Variable input) => Out.Forward(input);
    }

    [Fact]
    public void TiedWeightsAreOneParameterButBothNamesAreSaved()
    {
        var lm = new TiedLm();
        Assert.Single(lm.Parameters());
        Assert.Equal(40, lm.ParameterCount());
        Assert.Equal(["embedding"], lm.NamedParameters().Select(p => p.Name));
        Assert.Contains(lm.StateDict(), e => e.Name == "out.weight");
        Assert.Contains(lm.StateDict(), e => e.Name == "embedding");
    }

    private sealed class Clash : Module
    {
        private readonly Linear _head = new(2, 2, new Rng(1));
        public Linear Head { get; } = new(2, 2, new Rng(2));
        public override Variable Forward(Variable input) => Head.Forward(_head.Forward(input));
    }

    [Fact]
    public void TwoFieldsWithOneNameAreAnErrorNotASilentLoss()
    {
        var e = Assert.Throws<InvalidValueException>(() => new Clash().Parameters());
        Assert.Contains("'head'", e.Message);
    }

    [Fact]
    public void PrintingShowsTheTree()
    {
        var mlp = new Mlp([4, 3, 2], NormKind.Layer, new Rng(1));
        string text = mlp.ToString();
        Assert.Equal(
            "Mlp(\n" +
            "  (layers): Sequential(\n" +
            "    (0): Linear(in_features=4, out_features=3, bias=True)\n" +
            "    (1): LayerNorm((3,), eps=1e-05, elementwise_affine=True)\n" +
            "    (2): ReLU()\n" +
            "    (3): Linear(in_features=3, out_features=2, bias=True)\n" +
            "  )\n" +
            ")", text);
    }

    [Fact]
    public void LoadStateDictRoundTripsAndNamesEveryProblem()
    {
        var a = new Net(new Rng(1));
        var b = new Net(new Rng(99));
        var state = a.StateDict().ToDictionary(e => e.Name, e => e.Tensor.Clone());
        Assert.Empty(b.LoadStateDict(state).MissingKeys);
        Assert.Equal(a.StateDict().Select(e => e.Tensor.ToArray()), b.StateDict().Select(e => e.Tensor.ToArray()));

        var c = new Net(new Rng(7));
        float[] before = c.Embed.Weight.Value.ToArray();
        var broken = new Dictionary<string, Tensor>(state);
        broken.Remove("heads.cls.bias");
        broken["extra.weight"] = Tensor.Zeros(1);
        broken["embed.weight"] = Tensor.Zeros(8, 5);
        var e = Assert.Throws<StateDictMismatchException>(() => c.LoadStateDict(broken));
        Assert.Equal(["heads.cls.bias"], e.MissingKeys);
        Assert.Equal(["extra.weight"], e.UnexpectedKeys);
        Assert.Contains("embed.weight", e.Message);
        Assert.Contains("[8, 5]", e.Message);
        Assert.Equal(before, c.Embed.Weight.Value.ToArray()); // nothing was loaded

        broken["embed.weight"] = state["embed.weight"];
        var result = c.LoadStateDict(broken, strict: false);
        Assert.Equal(["heads.cls.bias"], result.MissingKeys);
        Assert.Equal(["extra.weight"], result.UnexpectedKeys);
        Assert.Equal(state["embed.weight"].ToArray(), c.Embed.Weight.Value.ToArray());
    }

    [Fact]
    public void BuffersAreSavedAndLoaded()
    {
        var bn = new BatchNorm1d(3);
        Assert.Equal(["weight", "bias", "running_mean", "running_var"], bn.StateDict().Select(e => e.Name));
        var other = new BatchNorm1d(3);
        other.RunningMean!.Span.Fill(2f);
        bn.LoadStateDict(other.StateDict());
        Assert.Equal(2f, bn.RunningMean![0]);
    }

    [Fact]
    public void ExistingModelsKeepTheirParameterNamesAndOrder()
    {
        var rnn = new NormSharp.Layers.Recurrent.RecurrentLayer(NormSharp.Layers.Recurrent.CellKind.LnLstm, 3, 4, new Rng(1), layers: 2);
        Assert.Equal(
        [
            "cells.0.weight_ih", "cells.0.weight_hh", "cells.0.bias", "cells.0.ln_ih_weight", "cells.0.ln_ih_bias",
            "cells.0.ln_hh_weight", "cells.0.ln_hh_bias", "cells.0.ln_c_weight", "cells.0.ln_c_bias",
            "cells.1.weight_ih", "cells.1.weight_hh", "cells.1.bias", "cells.1.ln_ih_weight", "cells.1.ln_ih_bias",
            "cells.1.ln_hh_weight", "cells.1.ln_hh_bias", "cells.1.ln_c_weight", "cells.1.ln_c_bias",
        ], rnn.NamedParameters().Select(p => p.Name));
        var wn = new WeightNormLinear(3, 2, new Rng(1));
        Assert.Equal(["bias", "weight_g", "weight_v"], wn.NamedParameters().Select(p => p.Name));
    }

    [Theory]
    [InlineData("InProjWeight", "in_proj_weight")]
    [InlineData("_outProj", "out_proj")]
    [InlineData("LNCell", "ln_cell")]
    [InlineData("Norm1", "norm1")]
    [InlineData("weight", "weight")]
    public void FieldNamesBecomeSnakeCase(string field, string expected) => Assert.Equal(expected, PartDiscovery.SnakeCase(field));
}
