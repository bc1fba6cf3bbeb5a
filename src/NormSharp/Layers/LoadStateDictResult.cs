namespace NormSharp.Layers;

/// <summary>What a non-strict <see cref="Module.LoadStateDict(IReadOnlyDictionary{string, Tensors.Tensor}, bool)"/> left out (PyTorch's <c>_IncompatibleKeys</c>).</summary>
/// <param name="MissingKeys">Keys of the model that the state dict did not provide; those tensors kept their values.</param>
/// <param name="UnexpectedKeys">Keys of the state dict that the model does not have; they were ignored.</param>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);
