using NormSharp.Errors;
using NormSharp.Tensors;

namespace NormSharp.Autograd;

/// <summary>
/// What a <see cref="CustomFunction"/>'s forward pass hands to its backward pass (PyTorch's <c>ctx</c>):
/// saved tensors, any other values, and which inputs need a gradient.
/// </summary>
public sealed class FunctionContext
{
    private readonly string _function;
    private readonly bool[] _needsInputGrad;
    private Tensor[] _saved = [];
    private int[] _savedVersions = [];

    internal FunctionContext(string function, bool[] needsInputGrad)
    {
        _function = function;
        _needsInputGrad = needsInputGrad;
    }

    /// <summary>Keeps tensors for the backward pass. A saved tensor must not be modified in place before then: the backward pass checks.</summary>
    public void SaveForBackward(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        _saved = (Tensor[])tensors.Clone();
        _savedVersions = _saved.Select(t => t.Version).ToArray();
    }

    /// <summary>The tensors given to <see cref="SaveForBackward"/>.</summary>
    public IReadOnlyList<Tensor> SavedTensors => _saved;

    /// <summary>Other values the backward pass needs (sizes, flags, random state), by name.</summary>
    public Dictionary<string, object> Items { get; } = new();

    /// <summary>Whether input <paramref name="index"/> needs a gradient; the backward pass may skip the others.</summary>
    public bool NeedsInputGrad(int index) => _needsInputGrad[index];

    internal void CheckSavedUnchanged()
    {
        for (int i = 0; i < _saved.Length; i++)
            if (_saved[i].Version != _savedVersions[i])
                throw new StaleVariableException($"{_function}: saved tensor {i} ({ShapeMismatchException.Format(_saved[i].Shape)}) was modified in place after the forward pass saved it, so its gradient would be wrong.");
    }
}
